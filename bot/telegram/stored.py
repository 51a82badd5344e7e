"""Telegram updates through the durable inbox (bot/inbox.py), whether POSTed to the webhook or polled.

An update is committed to the inbox and only then answered (webhook) or confirmed (polling: the offset moves
past it); it is handled right after, in order per chat, by this process, or after a crash by the sweep. So
getUpdates is called again as soon as a page is stored, not once it is handled: a grab storm's taps are
fetched at once instead of waiting behind the first tap's transaction.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telegram import Bot, Update

from bot.telegram.inbound import CHANNEL

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def chat_key(update: Update) -> str:
    """Whose order the update keeps: its chat's, else its sender's (an inline query has no chat)."""
    if update.effective_chat is not None:
        return f"{CHANNEL}:{update.effective_chat.id}"
    if update.effective_user is not None:
        return f"{CHANNEL}:u{update.effective_user.id}"
    return f"{CHANNEL}:#{update.update_id}"


def event_id(update_id: int) -> str:
    """The inbox's name for an update (the same whether it came by webhook or by polling)."""
    return f"u:{update_id}"


def for_app(app: App, max_photo_bytes: int) -> StoredUpdates:
    """The app's StoredUpdates (webhook or polling): made, and registered with the inbox, once."""
    if not isinstance(app.stored_updates, StoredUpdates):
        app.stored_updates = StoredUpdates(app, max_photo_bytes)
    return app.stored_updates


class StoredUpdates:
    """Stores Telegram updates in the inbox and handles them from it; registered once per process."""

    def __init__(self, app: App, max_photo_bytes: int) -> None:
        self.app = app
        self.max_photo_bytes = max_photo_bytes
        # Polled updates already parsed, by update id, so handling right after storing skips a second parse.
        self._parsed: dict[int, Update] = {}
        app.inbox.register(CHANNEL, self.process)

    async def store_polled(self, update: Update) -> bool:
        """Commit a polled update to the inbox (handled right after); False when it could not be stored,
        so the poller fetches it again."""
        self._parsed[update.update_id] = update
        try:
            fresh = await self.app.inbox.accept(
                CHANNEL, event_id(update.update_id), chat_key(update), update.to_dict()
            )
        except Exception:
            self._parsed.pop(update.update_id, None)
            log.exception("update %s could not be stored", update.update_id)
            return False
        if not fresh:  # a repeat of one still waiting: that one is handled (and parsed again if need be)
            self._parsed.pop(update.update_id, None)
        return True

    async def process(self, data: dict[str, Any]) -> bool:
        """Handle one stored update; False (try again later) before the channel has started."""
        from bot.telegram.app import handle_update

        bot: Bot | None = getattr(self.app.channels.get(CHANNEL), "bot", None)
        update = self._parsed.pop(int(data.get("update_id", 0)), None)
        if bot is None:  # swept before the channel started: later
            return False
        if update is None:
            update = Update.de_json(data, bot)
        result = await handle_update(update, bot, self.app.router, self.max_photo_bytes)
        return result is None or not result.failed
