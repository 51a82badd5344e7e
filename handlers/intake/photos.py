"""Intake, photos: up to the community's limit, each checked, cleaned of metadata and stored by hash."""

from __future__ import annotations

from handlers.context import Context
from handlers.intake.draft import Outcome, draft, next_after, save
from handlers.messages import Kind
from handlers.photos import store_inbound_photo


async def prompt_photos(ctx: Context) -> None:
    """Up to N photos, then Done."""
    count, limit = len(draft(ctx).get("photos") or []), ctx.services.max_photos
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
    photos: list[str] = list(draft(ctx).get("photos") or [])
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
    save(ctx, {"photos": photos})
    return True


async def handle_photos(ctx: Context, value: str | None) -> Outcome:
    """Take a photo or Done."""
    if value == "done":
        return next_after(ctx, "photos")
    kind = ctx.inbound.kind
    if kind == Kind.PHOTO:
        if await take_photo(ctx):
            count = len(draft(ctx).get("photos") or [])
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
