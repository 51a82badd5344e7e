"""Intake steps, second half: category and urgency, photos, time window, summary and filing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dispatch.site import format_duration
from dispatch.tickets import Draft, submit
from handlers import intake as flow
from handlers import intake_named as named
from handlers.common import after_submit, end_dialog
from handlers.context import Context
from handlers.i18n import N_
from handlers.labels import address_label, category_name, display, urgency_name
from handlers.messages import Kind
from handlers.photos import store_inbound_photo
from handlers.validate import clean_text
from storage.repositories import Addresses

WINDOWS = {
    "asap": N_("As soon as possible"),
    "today_pm": N_("This afternoon"),
    "evening": N_("This evening (after 18:00)"),
    "tomorrow_am": N_("Tomorrow morning"),
    "tomorrow_pm": N_("Tomorrow afternoon"),
    "weekend": N_("At the weekend"),
}
EDITABLE = {
    "address": N_("Address"),
    "phone": N_("Phone"),
    "description": N_("Problem"),
    "category": N_("Category"),
    "urgency": N_("Urgency"),
    "photos": N_("Photos"),
    "window": N_("Preferred time"),
    "technician": N_("Technician (optional)"),
}


async def prompt_classify(ctx: Context) -> None:
    """Show the suggested category and urgency with buttons to change them."""
    t, lang, d = ctx.t, ctx.t.language, flow.draft(ctx)
    if not d.get("category"):
        await flow.goto(ctx, "category")
        return
    text = t(
        "I have filed this under {category}, urgency {urgency}. Is that right?",
        category=category_name(ctx.community, d["category"], lang),
        urgency=urgency_name(ctx.community, d.get("urgency"), lang),
    )
    if d.get("urgency") == _most_severe(ctx):
        text += "\n" + t("If anyone is in danger, call 110 / 119 / 120 first.")
    ctx.ask(
        text,
        [("ok", t("Yes, that's right")), ("cat", t("Change category")), ("urg", t("Change urgency"))],
        columns=1,
    )


def _most_severe(ctx: Context) -> str:
    return ctx.community.urgencies[0].code


async def handle_classify(ctx: Context, value: str | None) -> bool:
    """Accept or change the suggestion."""
    if value == "ok":
        await flow.advance(ctx, "classify")
    elif value == "cat":
        await flow.goto(ctx, "category")
    elif value == "urg":
        await flow.goto(ctx, "urgency")
    else:
        return False
    return True


async def prompt_category(ctx: Context) -> None:
    """Every category of the community."""
    lang = ctx.t.language
    options = [(f"cat:{c.code}", display(c, lang)) for c in ctx.community.categories]
    ctx.ask(ctx.t("Which kind of problem is it?"), options, columns=2)


async def handle_category(ctx: Context, value: str | None) -> bool:
    """Take the category, then confirm the pair again."""
    category = ctx.community.category(value[4:]) if value and value.startswith("cat:") else None
    if category is None:
        return False
    flow.save(ctx, {"category": category.code})
    await flow.goto(ctx, "classify")
    return True


async def prompt_urgency(ctx: Context) -> None:
    """Urgency levels with the promise each carries."""
    lang = ctx.t.language
    options = [(f"urg:{u.code}", display(u, lang)) for u in ctx.community.urgencies]
    ctx.ask(ctx.t("How urgent is it?"), options, columns=3)


async def handle_urgency(ctx: Context, value: str | None) -> bool:
    """Take the urgency."""
    urgency = ctx.community.urgency(value[4:]) if value and value.startswith("urg:") else None
    if urgency is None:
        return False
    flow.save(ctx, {"urgency": urgency.code})
    await flow.goto(ctx, "classify")
    return True


async def prompt_photos(ctx: Context) -> None:
    """Up to N photos, then Done."""
    count, limit = len(flow.draft(ctx).get("photos") or []), ctx.services.max_photos
    if count:
        text = ctx.t(
            "You have sent {count} of at most {n} photos. Send more, or tap Done.", count=count, n=limit
        )
        done = ctx.t("Done")
    else:
        text = ctx.t(
            "Please send photos of the problem (up to {n}), then tap Done. No photos? Tap Skip.", n=limit
        )
        done = ctx.t("Skip")
    ctx.ask(text, [("done", done)])


async def take_photo(ctx: Context, *, quiet: bool = False) -> bool:
    """Check, clean and store the inbound photo into the draft; reply on any problem."""
    t, limit = ctx.t, ctx.services.max_photos
    photos: list[str] = list(flow.draft(ctx).get("photos") or [])
    if len(photos) >= limit:
        ctx.reply(
            t("You have already sent {n} photos, the most one request can take. Tap Done to go on.", n=limit)
        )
        return False
    sha = await store_inbound_photo(ctx)
    if sha is None:
        return False
    if sha not in photos:
        photos.append(sha)
    flow.save(ctx, {"photos": photos})
    return True


async def handle_photos(ctx: Context, value: str | None) -> bool:
    """Take a photo or Done."""
    if value == "done":
        await flow.advance(ctx, "photos")
        return True
    kind = ctx.inbound.kind
    if kind == Kind.PHOTO:
        if await take_photo(ctx):
            count = len(flow.draft(ctx).get("photos") or [])
            if count >= ctx.services.max_photos:
                ctx.ask(
                    ctx.t("Photo {count} received; that's the most one request can take.", count=count),
                    [("done", ctx.t("Done"))],
                )
            else:
                ctx.ask(
                    ctx.t("Photo {count} received. Send another, or tap Done.", count=count),
                    [("done", ctx.t("Done"))],
                )
        else:
            await prompt_photos(ctx)
        return True
    if kind == Kind.TEXT:
        ctx.reply(ctx.t("Please send a photo, or tap Done when you have finished."))
        await prompt_photos(ctx)
        return True
    return False


async def prompt_window(ctx: Context) -> None:
    """When a visit suits the resident."""
    options = [(f"w:{k}", ctx.t(v)) for k, v in WINDOWS.items()]
    ctx.ask(ctx.t("When would a visit suit you? Choose below or type a time."), options, columns=2)


async def handle_window(ctx: Context, value: str | None) -> bool:
    """Take a window from a button or typed text."""
    if value and value.startswith("w:") and value[2:] in WINDOWS:
        window = WINDOWS[value[2:]]
    elif ctx.inbound.kind == Kind.TEXT and clean_text(ctx.inbound.text):
        window = clean_text(ctx.inbound.text)
        if len(window) > 100:
            ctx.reply(ctx.t("Please keep the time short, for example “Saturday 9-11”."))
            return True
    else:
        return False
    flow.save(ctx, {"window": window})
    await flow.advance(ctx, "window")
    return True


def summary_text(ctx: Context, d: dict[str, Any]) -> str:
    """The request as the resident will confirm it."""
    t, lang, community = ctx.t, ctx.t.language, ctx.community
    if d.get("scope") == "public":
        where = t("Public area: {place}", place=d.get("location_text") or "")
    else:
        where = address_label(community, d.get("building"), d.get("unit"), d.get("room"), lang)
    lines = [
        t("Please check your repair request:"),
        t("Address: {where}", where=where),
        t("Phone: {phone}", phone=d.get("phone", "")),
        t("Problem: {text}", text=d.get("description", "")),
        t(
            "Category: {category} · Urgency: {urgency}",
            category=category_name(community, d.get("category"), lang),
            urgency=urgency_name(community, d.get("urgency"), lang),
        ),
        t("Photos: {n}", n=len(d.get("photos") or [])),
        t("Preferred time: {window}", window=t(d.get("window") or WINDOWS["asap"])),
    ]
    if d.get("voice_ref"):
        lines.append(t("Voice message: attached"))
    if d.get("named_name"):
        lines.append(t("Technician you asked for: {name}", name=d["named_name"]))
    return "\n".join(lines)


async def prompt_summary(ctx: Context) -> None:
    """The summary with Confirm / Edit / Cancel."""
    d = flow.draft(ctx)
    flow.save(ctx, {"editing": False})
    t = ctx.t
    ctx.ask(
        summary_text(ctx, d),
        [("confirm", t("✅ Confirm")), ("edit", t("✏️ Edit")), ("cancel", t("Cancel"))],
        columns=3,
    )


async def handle_summary(ctx: Context, value: str | None) -> bool:
    """File the ticket, go to editing, or cancel."""
    if value == "confirm":
        await _file(ctx)
    elif value == "edit":
        await flow.goto(ctx, "edit")
    elif value == "cancel":
        end_dialog(ctx)
        ctx.reply(ctx.t("Request cancelled; nothing was filed. Send 报修 or /repair to start again."))
    else:
        return False
    return True


async def prompt_edit(ctx: Context) -> None:
    """What to change."""
    options = [(f"e:{k}", ctx.t(v)) for k, v in EDITABLE.items()] + [("e:back", ctx.t("« Back"))]
    ctx.ask(ctx.t("What would you like to change?"), options, columns=2)


async def handle_edit(ctx: Context, value: str | None) -> bool:
    """Jump to the chosen step; it returns to the summary when done."""
    if not value or not value.startswith("e:"):
        return False
    field = value[2:]
    if field == "back":
        await flow.goto(ctx, "summary")
        return True
    if field not in EDITABLE:
        return False
    flow.save(ctx, {"editing": True})
    await flow.goto(ctx, field)
    return True


async def _file(ctx: Context) -> None:
    d, community, t = flow.draft(ctx), ctx.community, ctx.t
    urgency = community.urgency(d.get("urgency") or "") or community.default_urgency
    draft = Draft(
        community=community.code,
        scope=d.get("scope") or "in_unit",
        phone=d.get("phone") or "",
        description=d.get("description") or "",
        category=d.get("category") or community.categories[-1].code,
        urgency=urgency.code,
        building=d.get("building"),
        unit=d.get("unit"),
        room=d.get("room"),
        location_text=d.get("location_text") or "",
        latitude=d.get("latitude"),
        longitude=d.get("longitude"),
        voice_ref=d.get("voice_ref") or "",
        preferred_window=d.get("window") or WINDOWS["asap"],
        photos=list(d.get("photos") or []),
        named_technician_id=d.get("named_technician"),
    )
    ticket = await submit(ctx.session, community, ctx.person.id, draft, now=ctx.now, language=t.language)
    if draft.scope == "in_unit" and draft.building and draft.unit and draft.room:
        await Addresses(ctx.session).remember(
            ctx.person.id, community.code, draft.building, draft.unit, draft.room, ctx.now
        )
    end_dialog(ctx)
    promise = t(
        "A technician will answer within {duration}.", duration=format_duration(urgency.grab, t.language)
    )
    ctx.reply(
        t("Your repair request is filed. Number: {number}", number=ticket.number)
        + "\n"
        + promise
        + "\n"
        + t("We will message you at every step. Send /mytickets to see your requests.")
    )
    await after_submit(ctx, ticket)


PROMPTS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "classify": prompt_classify,
    "category": prompt_category,
    "urgency": prompt_urgency,
    "photos": prompt_photos,
    "window": prompt_window,
    "technician": named.prompt_technician,
    "summary": prompt_summary,
    "edit": prompt_edit,
}
HANDLERS: dict[str, Callable[[Context, str | None], Awaitable[bool]]] = {
    "classify": handle_classify,
    "category": handle_category,
    "urgency": handle_urgency,
    "photos": handle_photos,
    "window": handle_window,
    "technician": named.handle_technician,
    "summary": handle_summary,
    "edit": handle_edit,
}
