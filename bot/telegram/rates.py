"""Telegram's flood limits as the sender applies them, from settings."""

from __future__ import annotations

from bot.outbox.ratelimit import ChannelLimits, Rate
from bot.settings import Settings
from bot.telegram.outbound import CAPTION_LIMIT
from handlers.messages import Outbound


def is_group(chat_id: str) -> bool:
    """Telegram's groups and channels have negative ids; private chats positive ones."""
    return chat_id.startswith("-")


def api_sends(message: Outbound) -> int:
    """How many send calls one outbox row makes (an album and its text are two)."""
    if message.kind != "send":
        return 1
    if len(message.photos) > 1 or (len(message.photos) == 1 and len(message.text) > CAPTION_LIMIT):
        return 2
    return 1


def telegram_limits(settings: Settings) -> ChannelLimits:
    """About 30 messages a second in all, about 1 a second per chat, 20 a minute per group (with margins)."""
    overall = settings.telegram_rate_overall
    chat = settings.telegram_rate_chat
    group = settings.telegram_rate_group_per_minute
    return ChannelLimits(
        overall=Rate(overall, burst=max(1, int(overall // 5))) if overall > 0 else None,
        private=Rate(chat, burst=settings.telegram_rate_chat_burst) if chat > 0 else None,
        group=Rate(group / 60.0, burst=3) if group > 0 else None,
        is_group=is_group,
        cost=api_sends,
    )
