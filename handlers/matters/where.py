"""Which department the matter goes to (suggested from the words), and any photos or place it concerns."""

from __future__ import annotations

from handlers.context import Context
from handlers.dialog import Goto, Outcome
from handlers.labels import display
from handlers.matters.draft import draft, save
from handlers.messages import Kind, ReplyKeyboard
from handlers.photos import store_inbound_photo
from handlers.validate import MAX_SHORT_TEXT, clean_text


async def prompt_department(ctx: Context) -> Goto | None:
    """The suggested department first, the others to choose from."""
    t, lang, matters = ctx.t, ctx.t.language, ctx.community.matters
    current = matters.department(str(draft(ctx).get("department") or "")) or matters.department(
        matters.default_department
    )
    if current is None:
        return Goto("photos")
    options = [("ok", t("Yes, send it to {name}", name=display(current, lang)))]
    options += [(f"d:{d.code}", display(d, lang)) for d in matters.departments if d.code != current.code]
    ctx.ask(t("This goes to {name}. Is that right?", name=display(current, lang)), options, columns=2)
    return None


async def handle_department(ctx: Context, value: str | None) -> Outcome:
    """Keep the suggestion or take another department."""
    matters = ctx.community.matters
    if value == "ok":
        if matters.department(str(draft(ctx).get("department") or "")) is None:
            save(ctx, {"department": matters.default_department})
        return Goto("photos")
    chosen = matters.department(value[2:]) if value and value.startswith("d:") else None
    if chosen is None:
        return False
    save(ctx, {"department": chosen.code})
    return Goto("photos")


async def prompt_photos(ctx: Context) -> Goto | None:
    """Optional: photos, and where it is (a pin or a few words)."""
    t, d = ctx.t, draft(ctx)
    count = len(d.get("photos") or [])
    text = t(
        "If it helps, send photos (up to {n}) or where it is (a location pin or a few words). "
        "Then tap Done; or Skip.",
        n=ctx.services.max_photos,
    )
    if count:
        text = t("{count} photo(s) kept. Send more, or tap Done.", count=count)
    ctx.ask(
        text,
        [("done", t("Done") if count or d.get("location_text") else t("Skip"))],
        keyboard=ReplyKeyboard.LOCATION,
        keyboard_label=t("📍 Send my location"),
    )
    return None


async def handle_photos(ctx: Context, value: str | None) -> Outcome:
    """A photo, a pin, a place in words, or Done."""
    t, kind = ctx.t, ctx.inbound.kind
    if value == "done":
        return Goto("about")
    if kind == Kind.PHOTO:
        photos = list(draft(ctx).get("photos") or [])
        if len(photos) >= ctx.services.max_photos:
            ctx.reply(t("That's the most one report can take. Tap Done to go on."))
            return True
        sha = await store_inbound_photo(ctx)
        if sha is not None and sha not in photos:
            save(ctx, {"photos": [*photos, sha]})
        return Goto("photos")
    if kind == Kind.LOCATION:
        lat, lon = ctx.inbound.latitude, ctx.inbound.longitude
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return False
        save(ctx, {"latitude": lat, "longitude": lon, "location_text": t("Location pin")})
        ctx.reply(t("Place noted."))
        return Goto("photos")
    if kind == Kind.TEXT and clean_text(ctx.inbound.text):
        place = clean_text(ctx.inbound.text)
        if len(place) > MAX_SHORT_TEXT:
            ctx.reply(t("That is a bit long; please keep the place under {n} characters.", n=MAX_SHORT_TEXT))
            return True
        save(ctx, {"location_text": place})
        ctx.reply(t("Place noted: {place}", place=place))
        return Goto("photos")
    return False
