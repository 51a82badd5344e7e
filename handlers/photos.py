"""Taking a photo from a chat: size checks, Pillow validation and EXIF stripping via the media store."""

from __future__ import annotations

import asyncio

from handlers.context import Context
from storage.media import MediaError


async def store_inbound_photo(ctx: Context) -> str | None:
    """Store the event's photo and return its hash, or reply with the problem and return None."""
    t, photo = ctx.t, ctx.inbound.photo
    max_mb = ctx.services.media.max_bytes // (1024 * 1024)
    if photo is None or photo.data is None:
        if photo is not None and photo.problem == "unavailable":
            ctx.reply(t("I couldn't download that photo. Please send it again."))
        else:
            ctx.reply(t("That photo is too large (over {mb} MB). Please send a smaller one.", mb=max_mb))
        return None
    try:
        stored = await asyncio.to_thread(ctx.services.media.put_image, photo.data)
    except MediaError as exc:
        if exc.reason == "too_large":
            ctx.reply(t("That photo is too large (over {mb} MB). Please send a smaller one.", mb=max_mb))
        else:
            ctx.reply(t("That file isn't a picture I can open. Please send a photo (JPEG or PNG)."))
        return None
    return stored.sha256
