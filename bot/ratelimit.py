"""Outbound rate limits shared by every worker: GCRA time stamps in the database, not in memory.

Each limit is a "generic cell rate algorithm" stamp (the theoretical arrival time of the next message): one
row per chat (`outbox_lanes.next_send_at`) and one per channel (`rate_limits.next_send_at`). A worker
*reserves* a send time in one short transaction that locks the chat's lane and the channel's row, then sleeps
until that time and sends. Because every worker reserves from the same rows, the limits hold for the whole
deployment; a worker that dies after reserving only leaves a gap.

Lock order everywhere: the lane row first, then the channel row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Outbound
from storage.models import OutboxLane, RateLimit
from storage.repositories import upsert


@dataclass(frozen=True)
class Rate:
    """`per_second` messages a second on average, `burst` of them at once after a quiet spell."""

    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        """Seconds per message."""
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        """How far ahead of the average rate a burst may run, in seconds."""
        return (max(1, self.burst) - 1) * self.interval


def _one_message(message: Outbound) -> int:
    return 1


@dataclass(frozen=True)
class ChannelLimits:
    """A channel's limits: overall, per private chat and per group; `cost` counts API sends per message."""

    overall: Rate | None = None
    private: Rate | None = None
    group: Rate | None = None
    is_group: Callable[[str], bool] = field(default=lambda chat_id: False)
    cost: Callable[[Outbound], int] = field(default=_one_message)

    @property
    def active(self) -> bool:
        """True when any limit is set."""
        return any(rate is not None for rate in (self.overall, self.private, self.group))

    def for_chat(self, chat_id: str) -> Rate | None:
        """The limit of one chat."""
        return self.group if self.is_group(chat_id) else self.private


def allowed_at(stamp: datetime | None, rate: Rate, cost: int, now: datetime) -> datetime:
    """The earliest time `cost` messages fit under `rate`, given the key's GCRA stamp."""
    if stamp is None:
        return now
    cost = max(1, min(cost, max(1, rate.burst)))
    earliest = stamp + timedelta(seconds=(cost - 1) * rate.interval - rate.tolerance)
    return max(now, earliest)


def advance(stamp: datetime | None, rate: Rate, cost: int, at: datetime) -> datetime:
    """The key's new stamp after sending `cost` messages at `at`."""
    base = at if stamp is None or stamp < at else stamp
    return base + timedelta(seconds=max(1, cost) * rate.interval)


async def channel_row(session: AsyncSession, key: str, *, lock: bool = True) -> RateLimit:
    """A channel's rate-limit row, created if missing (locked for this transaction by default)."""
    await session.execute(upsert(session, RateLimit).values(key=key).on_conflict_do_nothing())
    stmt = select(RateLimit).where(RateLimit.key == key).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one()


async def lane_row(session: AsyncSession, channel: str, chat_id: str) -> OutboxLane:
    """A chat's lane row, created if missing, locked for this transaction."""
    await session.execute(
        upsert(session, OutboxLane)
        .values(channel=channel, chat_id=chat_id, lease_owner="")
        .on_conflict_do_nothing()
    )
    stmt = (
        select(OutboxLane)
        .where(OutboxLane.channel == channel, OutboxLane.chat_id == chat_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def reserve(
    session: AsyncSession, limits: ChannelLimits, lane: OutboxLane, cost: int, now: datetime
) -> datetime:
    """Reserve a send time for `cost` messages to the lane's chat under every limit; return it.

    The lane must already be locked by this transaction (see `lane_row`); the channel row is locked here.
    Pauses (a 429's retry_after, an outage) push the time back too.
    """
    channel = await channel_row(session, lane.channel)
    at = now
    for pause in (lane.paused_until, channel.paused_until):
        if pause is not None and pause > at:
            at = pause
    chat_rate = limits.for_chat(lane.chat_id)
    if chat_rate is not None:
        at = allowed_at(lane.next_send_at, chat_rate, cost, at)
    if limits.overall is not None:
        at = allowed_at(channel.next_send_at, limits.overall, cost, at)
    if chat_rate is not None:
        lane.next_send_at = advance(lane.next_send_at, chat_rate, cost, at)
    if limits.overall is not None:
        channel.next_send_at = advance(channel.next_send_at, limits.overall, cost, at)
    return at


async def pause(session: AsyncSession, channel: str, chat_id: str | None, until: datetime) -> None:
    """Stop sending to a chat (and/or the whole channel) until `until`; never shortens a longer pause."""
    if chat_id is not None:
        lane = await lane_row(session, channel, chat_id)
        if lane.paused_until is None or lane.paused_until < until:
            lane.paused_until = until
    row = await channel_row(session, channel)
    if row.paused_until is None or row.paused_until < until:
        row.paused_until = until


def seconds_until(when: datetime, now: datetime) -> float:
    """Seconds from now until `when` (0 when past), rounded up to the millisecond."""
    return max(0.0, math.ceil((when - now).total_seconds() * 1000) / 1000)
