"""The customer-service quota of each follower, in the database so that every worker spends the same one.

Since 2023-06-12 WeChat allows an Official Account 5 customer-service messages within 48 hours of a user's
last message (a new message resets the allowance, it does not add to it) and 3 within a minute of a menu
click, a follow or a QR scan; over it WeChat answers 45047. The callback records each grant as the user acts
(`grant`); the delivery spends it before each customer-service message (`spend`), the short allowance
first, and when it would run over sends a template message instead. A 45047 from WeChat itself means our
count was wrong (another tool sent messages too): the allowance is spent (`exhaust`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WeChatQuota
from storage.repositories import upsert

MESSAGE_QUOTA = 5
MESSAGE_SPAN = timedelta(hours=48) - timedelta(minutes=2)  # a margin for the time a delivery takes
EVENT_QUOTA = 3
EVENT_SPAN = timedelta(seconds=50)  # WeChat's minute, less a margin
# Events that grant the short allowance; other events (unsubscribe, view, location reports) grant nothing.
GRANTING_EVENTS = frozenset({"subscribe", "scan", "click"})


@dataclass(frozen=True)
class Left:
    """Messages still allowed: from the last click/follow/scan, and from the last message."""

    event: int
    message: int

    @property
    def total(self) -> int:
        """Both together."""
        return self.event + self.message


def granting(msg: dict[str, str]) -> str | None:
    """ "message", "event" or None: what allowance a callback message gives its sender."""
    msg_type = msg.get("MsgType", "").lower()
    if msg_type != "event":
        return "message" if msg_type else None
    return "event" if msg.get("Event", "").lower() in GRANTING_EVENTS else None


def left(row: WeChatQuota | None, now: datetime) -> Left | None:
    """What the row still allows now; None when we know nothing of this follower."""
    if row is None:
        return None
    event = EVENT_QUOTA - row.event_used if row.event_at and now - row.event_at < EVENT_SPAN else 0
    message = (
        MESSAGE_QUOTA - row.message_used if row.message_at and now - row.message_at < MESSAGE_SPAN else 0
    )
    return Left(max(0, event), max(0, message))


async def _locked(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> WeChatQuota:
    await session.execute(
        upsert(session, WeChatQuota)
        .values(channel=channel, chat_id=chat_id, message_used=0, event_used=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    stmt = (
        select(WeChatQuota)
        .where(WeChatQuota.channel == channel, WeChatQuota.chat_id == chat_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def grant(session: AsyncSession, channel: str, chat_id: str, kind: str, now: datetime) -> None:
    """The user acted: their allowance of that kind starts again (reset, not added)."""
    row = await _locked(session, channel, chat_id, now)
    if kind == "message":
        row.message_at, row.message_used = now, 0
    else:
        row.event_at, row.event_used = now, 0
    row.updated_at = now


async def spend(session: AsyncSession, channel: str, chat_id: str, cost: int, now: datetime) -> bool | None:
    """Take `cost` messages from the follower's allowance: True when they fit (and are taken), False when
    they would run over, None when we know nothing of this follower (WeChat decides)."""
    row = (
        await session.execute(
            select(WeChatQuota)
            .where(WeChatQuota.channel == channel, WeChatQuota.chat_id == chat_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    have = left(row, now)
    if row is None or have is None:
        return None
    if have.total < cost:
        return False
    from_event = min(cost, have.event)
    row.event_used += from_event
    row.message_used += cost - from_event
    row.updated_at = now
    return True


async def exhaust(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> None:
    """WeChat said 45047: nothing more until the user acts again."""
    row = await _locked(session, channel, chat_id, now)
    row.event_used, row.message_used, row.updated_at = EVENT_QUOTA, MESSAGE_QUOTA, now


async def remaining(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> Left | None:
    """What the follower's allowance still holds (for tests and the sender's choices)."""
    row = await session.get(WeChatQuota, (channel, chat_id), populate_existing=True)
    return left(row, now)
