"""WeCom's per-member limits as the outbox sender applies them.

A WeCom app may send one member at most 30 messages a minute and 1,000 an hour; WeCom drops the rest without
an error, so a busy technician's offers and cards would vanish. The sender paces each member the way it
paces a Telegram chat: a GCRA stamp per chat in the database (bot/outbox/ratelimit.py), shared by every
worker, so one member's queue never holds up another's.

One GCRA rate meets both limits: about `burst + T * rate` messages fit in any span T, so 980 an hour (2%
under the hour's limit) with a burst of 12 allows at most 28 in any minute and 992 in any hour.
WECOM_MEMBER_PER_MINUTE and WECOM_MEMBER_PER_HOUR set the limits (0 turns the pacing off).
"""

from __future__ import annotations

import math

from bot.outbox.ratelimit import ChannelLimits, Rate
from bot.wechat.oa_outbound import CARD_BUTTONS, flat, numbered
from bot.wechat.text import chunks
from bot.wechat.wecom_outbound import fits_card
from handlers.i18n import Translator
from handlers.messages import Outbound

MARGIN = 0.98  # of each limit, for clocks and rounding


def api_sends(message: Outbound) -> int:
    """How many WeCom messages one outbox row makes: photos, files, and the card or the text's parts."""
    if message.kind == "answer":
        return 1 if message.text else 0
    choices = flat(message)
    sends = len(message.photos[:9]) + len(message.documents)
    if message.kind == "send" and choices and len(choices) <= CARD_BUTTONS:
        return sends + (1 if fits_card(message.text) else 1 + len(chunks(message.text)))
    # Counted in English: the numbered lines' words hardly change the number of parts.
    return sends + max(1, len(chunks(numbered(message.text, choices, Translator("en")))))


def member_rate(per_minute: int, per_hour: int) -> Rate | None:
    """One GCRA rate under both limits (None when either is 0: no pacing)."""
    if per_minute <= 0 or per_hour <= 0:
        return None
    rate = MARGIN * min(per_hour / 3600.0, per_minute / 60.0)
    burst = max(1, math.floor(per_minute - 60 * rate) - 1)
    return Rate(rate, burst=burst)


def wecom_limits(per_minute: int = 30, per_hour: int = 1000) -> ChannelLimits:
    """Each member paced under `per_minute` and `per_hour`; no limit on the app as a whole here."""
    return ChannelLimits(private=member_rate(per_minute, per_hour), cost=api_sends)
