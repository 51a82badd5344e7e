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


# Sends one outbox row may make at once (an album and its text): the ceilings' bursts leave room for them.
MAX_COST = 2
GROUP_BURST = 3


def telegram_limits(settings: Settings) -> ChannelLimits:
    """Telegram's published limits as hard ceilings over any window: at most TELEGRAM_RATE_OVERALL messages in
    any second in all (Telegram: 30) and TELEGRAM_RATE_GROUP_PER_MINUTE in any minute per group (Telegram:
    20), bursts included; the gap to Telegram's figure absorbs network jitter between the reserved time and
    the arrival. A private chat has no published ceiling ("about one a second, short bursts are fine"): it
    gets TELEGRAM_RATE_CHAT a second with a burst of TELEGRAM_RATE_CHAT_BURST."""
    overall = int(settings.telegram_rate_overall)
    chat = settings.telegram_rate_chat
    group = int(settings.telegram_rate_group_per_minute)
    return ChannelLimits(
        overall=Rate.ceiling(overall, 1.0, burst=MAX_COST) if overall > 0 else None,
        private=Rate(chat, burst=settings.telegram_rate_chat_burst) if chat > 0 else None,
        group=Rate.ceiling(group, 60.0, burst=GROUP_BURST) if group > 0 else None,
        is_group=is_group,
        cost=api_sends,
    )
