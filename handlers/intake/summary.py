"""Intake, the end: the summary to confirm, editing one field, and filing the ticket (then offering it)."""

from __future__ import annotations

from typing import Any

from dispatch.incidents import matching
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.site import format_duration
from dispatch.tickets import submit
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.intake.draft import Goto, Outcome, draft, save
from handlers.intake.join import find_match, place_of
from handlers.intake.request import request_of
from handlers.intake.window import WINDOWS
from handlers.labels import address_label, category_name, urgency_name
from storage.repositories import Addresses

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
# A patrol report has no phone, preferred time or named technician to change.
PATROL_EDITABLE = {k: v for k, v in EDITABLE.items() if k not in ("phone", "window", "technician")}


def summary_text(ctx: Context, d: dict[str, Any]) -> str:
    """The request as the resident will confirm it."""
    t, lang, community = ctx.t, ctx.t.language, ctx.community
    if d.get("scope") == "public":
        where = t("Public area: {place}", place=d.get("location_text") or "")
    else:
        where = address_label(community, d.get("building"), d.get("unit"), d.get("room"), lang)
    if d.get("patrol"):
        return "\n".join(
            [
                t("Please check your patrol report:"),
                t("Address: {where}", where=where),
                t("Problem: {text}", text=d.get("description", "")),
                t(
                    "Category: {category} · Urgency: {urgency}",
                    category=category_name(community, d.get("category"), lang),
                    urgency=urgency_name(community, d.get("urgency"), lang),
                ),
                t("Photos: {n}", n=len(d.get("photos") or [])),
            ]
        )
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
    d = draft(ctx)
    save(ctx, {"editing": False})
    t = ctx.t
    ctx.ask(
        summary_text(ctx, d),
        [("confirm", t("✅ Confirm")), ("edit", t("✏️ Edit")), ("cancel", t("Cancel"))],
        columns=3,
    )


async def handle_summary(ctx: Context, value: str | None) -> Outcome:
    """File the ticket, go to editing, or cancel."""
    if value == "confirm":
        if not draft(ctx).get("patrol"):
            # The last look before filing: a neighbour may have reported the same fault while we talked.
            await matching.serialize(ctx.session, place_of(ctx))
            if await find_match(ctx) is not None:
                save(ctx, {"join_from": "summary"})
                return Goto("join")
        await _file(ctx)
    elif value == "edit":
        return Goto("edit")
    elif value == "cancel":
        end_dialog(ctx)
        ctx.reply(ctx.t("Request cancelled; nothing was filed. Send 报修 or /repair to start again."))
    else:
        return False
    return True


async def prompt_edit(ctx: Context) -> None:
    """What to change."""
    fields = PATROL_EDITABLE if draft(ctx).get("patrol") else EDITABLE
    options = [(f"e:{k}", ctx.t(v)) for k, v in fields.items()] + [("e:back", ctx.t("« Back"))]
    ctx.ask(ctx.t("What would you like to change?"), options, columns=2)


async def handle_edit(ctx: Context, value: str | None) -> Outcome:
    """Jump to the chosen step; it returns to the summary when done."""
    if not value or not value.startswith("e:"):
        return False
    field = value[2:]
    if field == "back":
        return Goto("summary")
    patrol = bool(draft(ctx).get("patrol"))
    if field not in (PATROL_EDITABLE if patrol else EDITABLE):
        return False
    save(ctx, {"editing": True})
    if patrol and field == "address":
        return Goto("public_place")
    return Goto(field)


async def _file(ctx: Context) -> None:
    d, community, t = draft(ctx), ctx.community, ctx.t
    request = request_of(ctx)
    urgency = community.urgency(request.urgency) or community.default_urgency
    ticket = await submit(ctx.session, community, ctx.person.id, request, now=ctx.now, language=t.language)
    if request.scope == "in_unit" and request.building and request.unit and request.room:
        await Addresses(ctx.session).remember(
            ctx.person.id, community.code, request.building, request.unit, request.room, ctx.now
        )
    end_dialog(ctx)
    if d.get("patrol"):
        ctx.reply(
            t("Patrol find filed. Number: {number}", number=ticket.number)
            + "\n"
            + t("It goes to technicians now; the area's supervisor checks the work when it is done.")
        )
    else:
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
    # The ticket goes straight out to technicians (or into the queue), in the same transaction.
    notices = Notices()
    await dispatch_ticket(ctx.session, community, ticket, ctx.now, notices)
    ctx.tell(notices)
