"""Telegram Update -> neutral Inbound event (translation only, no domain decisions)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, Message, Update
from telegram.error import TelegramError

from bot.inbox_slots import waiting_on_the_network
from handlers.messages import Identity, Inbound, Kind, Photo

log = logging.getLogger(__name__)
CHANNEL = "telegram"


async def to_inbound(update: Update, bot: Bot, max_photo_bytes: int) -> Inbound | None:
    """Translate an update; None for kinds the bot ignores (channel posts, polls ...)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    base: dict[str, Any] = {
        "identity": Identity(CHANNEL, str(user.id)),
        "chat_id": str(chat.id),
        "chat_type": "private" if chat.type == "private" else "group",
        "event_id": str(update.update_id),
        "display_name": user.full_name or "",
        "language_code": user.language_code or "",
        "at": datetime.now(UTC),
    }
    if update.callback_query is not None:
        return Inbound(
            kind=Kind.BUTTON,
            button=update.callback_query.data or "",
            callback_id=update.callback_query.id,
            **base,
        )
    if update.edited_message is not None:
        return Inbound(kind=Kind.EDITED, text=update.edited_message.text or "", **base)
    message = update.message
    if message is None:
        return None
    return Inbound(**base, **await _message_fields(message, bot, max_photo_bytes))


async def _message_fields(message: Message, bot: Bot, max_photo_bytes: int) -> dict[str, Any]:
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            return {"kind": Kind.COMMAND, "command": command, "args": args, "text": text}
        return {"kind": Kind.TEXT, "text": text}
    if message.photo:
        size = message.photo[-1]
        return {
            "kind": Kind.PHOTO,
            "photo": await _download(bot, size.file_id, size.file_size, max_photo_bytes),
            "text": message.caption or "",
        }
    if message.contact is not None:
        own = (
            message.contact.user_id is not None
            and message.from_user is not None
            and (message.contact.user_id == message.from_user.id)
        )
        return {"kind": Kind.CONTACT, "phone": message.contact.phone_number, "contact_is_own": own}
    if message.location is not None:
        return {
            "kind": Kind.LOCATION,
            "latitude": message.location.latitude,
            "longitude": message.location.longitude,
        }
    if message.voice is not None or message.audio is not None:
        media = message.voice or message.audio
        return {"kind": Kind.VOICE, "voice_ref": media.file_id if media else ""}
    if message.sticker is not None:
        return {"kind": Kind.STICKER}
    if message.document is not None:
        return {"kind": Kind.DOCUMENT, "text": message.caption or ""}
    return {"kind": Kind.OTHER}


async def _download(bot: Bot, file_id: str, size: int | None, max_bytes: int) -> Photo:
    """Fetch a photo's bytes unless Telegram already says it is too big."""
    if size is not None and size > max_bytes:
        return Photo(data=None, size=size, file_ref=file_id, problem="too_large")
    try:
        async with waiting_on_the_network():  # a slow download holds up no other chat's event
            file = await bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                return Photo(data=None, size=file.file_size, file_ref=file_id, problem="too_large")
            data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        # The handler asks to send it again; the dialog state stays as it was.
        log.warning("photo download failed: %s", exc)
        return Photo(data=None, size=size, file_ref=file_id, problem="unavailable")
    return Photo(data=data, size=len(data), file_ref=file_id)
