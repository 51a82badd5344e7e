"""Outbound rate limits shared by every worker: GCRA time stamps in the database, not in memory.

Each limit is a "generic cell rate algorithm" stamp (the theoretical arrival time of the next message): one
row per chat (`outbox_lanes.next_send_at`) and one per channel (`rate_limits.next_send_at`). A worker
*reserves* a send time in one short transaction that locks the channel's row and moves both stamps on, then
sleeps until that time and sends. Because every worker reserves from the same rows, the limits hold for the
whole deployment; a worker that dies after reserving only leaves a gap. A chat's stamp is only ever changed
by the worker holding its lane's lease, so that worker knows it without reading the row (`Lane`); the write
is conditional on the lease, and a lost lease reserves nothing.

Lock order everywhere: the channel row first, then the lane row.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Executable, Select, Table, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.lanes import Lane
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxLane, RateLimit
from storage.repositories import upsert


@dataclass(frozen=True)
class Rate:
    """`per_second` messages a second on average, `burst` of them at once after a quiet spell.

    A GCRA rate lets `burst + per_second * W` messages (rounded down) into a window of W seconds: a burst
    comes on top of the rate. `Rate.ceiling` picks the rate so that the sum never exceeds a limit.
    """

    per_second: float
    burst: int = 1

    @classmethod
    def ceiling(cls, count: int, window: float, burst: int = 1) -> Rate:
        """At most `count` messages in any `window` seconds (half-open), `burst` of them at once.

        n conforming messages span at least (n - burst) steps, so count + 1 of them span at least
        (count + 1 - burst) steps: one step of window / (count + 1 - burst) keeps them a whole window apart.
        """
        count = max(1, count)
        burst = max(1, min(burst, count))
        return cls((count + 1 - burst) / window, burst)

    @property
    def interval(self) -> float:
        """Seconds per message."""
        return 1.0 / self.per_second

    @property
    def step(self) -> timedelta:
        """Time per message, rounded up to the microsecond: stamps are datetimes, and a step rounded down
        would let `count + 1` messages into a window a few microseconds short of it."""
        return timedelta(microseconds=math.ceil(1_000_000 / self.per_second - 1e-6))

    @property
    def tolerance(self) -> timedelta:
        """How far ahead of the average rate a burst may run."""
        return (max(1, self.burst) - 1) * self.step


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
    earliest = stamp + (cost - 1) * rate.step - rate.tolerance
    return max(now, earliest)


def advance(stamp: datetime | None, rate: Rate, cost: int, at: datetime) -> datetime:
    """The key's new stamp after sending `cost` messages at `at`."""
    base = at if stamp is None or stamp < at else stamp
    return base + max(1, cost) * rate.step


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


@dataclass(frozen=True)
class Plan:
    """A reservation worked out: when to send, and the chat's and channel's stamps after it."""

    at: datetime
    chat_stamp: datetime | None
    channel_stamp: datetime | None


def plan(
    limits: ChannelLimits,
    chat_id: str,
    cost: int,
    now: datetime,
    chat: tuple[datetime | None, datetime | None],
    channel: tuple[datetime | None, datetime | None],
) -> Plan:
    """The earliest send time for `cost` messages under every limit; `chat`/`channel` are (stamp, pause)."""
    at = now
    for pause_until in (chat[1], channel[1]):
        if pause_until is not None and pause_until > at:
            at = pause_until
    chat_rate = limits.for_chat(chat_id)
    if chat_rate is not None:
        at = allowed_at(chat[0], chat_rate, cost, at)
    if limits.overall is not None:
        at = allowed_at(channel[0], limits.overall, cost, at)
    return Plan(
        at,
        advance(chat[0], chat_rate, cost, at) if chat_rate is not None else chat[0],
        advance(channel[0], limits.overall, cost, at) if limits.overall is not None else channel[0],
    )


async def reserve(
    session: AsyncSession,
    limits: ChannelLimits,
    lane: Lane,
    owner: str,
    cost: int,
    now: datetime | Callable[[], datetime],
    lease: timedelta,
) -> Plan | None:
    """Reserve a send time for `cost` messages to the lane's chat under every limit and keep the lease past
    it; the plan (`at` is the time), or None when the lane is no longer `owner`'s (then nothing is reserved).

    Pauses (a 429's retry_after, an outage) push the time back too. `now` may be a clock, read once the
    channel's row is locked. Two statements on PostgreSQL, three on SQLite.
    """
    params: dict[str, object] = {"b_channel": lane.channel}
    channel = (await session.execute(_channel_locked(), params)).one_or_none()
    if channel is None:
        await channel_row(session, lane.channel)
        channel = (await session.execute(_channel_locked(), params)).one()
    # The time after the lock, not before: a reservation that waited for the lock (or a slow database) and
    # planned from the earlier time would send at once but stamp the chat as if it had sent back then, and
    # its next message could follow within less than the chat's interval.
    now = now() if callable(now) else now
    chosen = plan(
        limits, lane.chat_id, cost, now, (lane.next_send_at, lane.paused_until), (channel[0], channel[1])
    )
    until = max(chosen.at, now) + lease
    params = {
        **params,
        "b_chat": lane.chat_id,
        "owner": owner,
        "chat_stamp": chosen.chat_stamp,
        "channel_stamp": chosen.channel_stamp,
        "until": until,
    }
    if session.get_bind().dialect.name == "postgresql":
        ours = bool((await session.execute(_move_both(), params)).one()[0])
    else:
        ours = bool((await session.execute(_move_chat(), params)).rowcount)  # type: ignore[attr-defined]
        if ours:
            await session.execute(_move_channel(), params)
    if not ours:
        return None
    lane.next_send_at, lane.lease_until = chosen.chat_stamp, until
    return chosen


@cache
def _channel_locked() -> Executable:
    return (
        select(RateLimit.next_send_at, RateLimit.paused_until)
        .where(RateLimit.key == bindparam("b_channel"))
        .with_for_update()
    )


@cache
def _move_chat() -> Update:
    lanes = cast(Table, OutboxLane.__table__)
    return (
        update(lanes)
        .where(
            lanes.c.channel == bindparam("b_channel"),
            lanes.c.chat_id == bindparam("b_chat"),
            lanes.c.lease_owner == bindparam("owner"),
        )
        .values(next_send_at=bindparam("chat_stamp"), lease_until=bindparam("until"))
    )


@cache
def _move_channel() -> Update:
    channels = cast(Table, RateLimit.__table__)
    return (
        update(channels)
        .where(channels.c.key == bindparam("b_channel"))
        .values(next_send_at=bindparam("channel_stamp"))
    )


@cache
def _move_both() -> Select[Any]:
    """PostgreSQL: both stamps in one statement; the channel's only moves when the lane is still ours."""
    lanes, channels = cast(Table, OutboxLane.__table__), cast(Table, RateLimit.__table__)
    chat = _move_chat().returning(lanes.c.chat_id).cte("chat")
    channel = _move_channel().where(select(chat.c.chat_id).exists()).returning(channels.c.key).cte("channel")
    # SQLAlchemy renders only the CTEs a query names, so both are counted though only the lane's is read.
    return select(
        select(func.count()).select_from(chat).scalar_subquery(),
        select(func.count()).select_from(channel).scalar_subquery(),
    )


async def pause(session: AsyncSession, channel: str, chat_id: str | None, until: datetime) -> None:
    """Stop sending to a chat (and/or the whole channel) until `until`; never shortens a longer pause."""
    row = await channel_row(session, channel)
    if row.paused_until is None or row.paused_until < until:
        row.paused_until = until
    if chat_id is not None:
        lane = await lane_row(session, channel, chat_id)
        if lane.paused_until is None or lane.paused_until < until:
            lane.paused_until = until


def seconds_until(when: datetime, now: datetime) -> float:
    """Seconds from now until `when` (0 when past), rounded up to the millisecond."""
    return max(0.0, math.ceil((when - now).total_seconds() * 1000) / 1000)


# Seconds of sending a worker reserves ahead on a channel (see Reservations.reserve).
AHEAD = 0.5
# Work of the caller's done in a reservation's transaction, given the chosen time.
Also = Callable[[AsyncSession, datetime], Awaitable[None]]
CHAT_AHEAD = 0.02  # a chat-limited message takes its channel slot this close to its chat's own slot


class Reservations:
    """One worker's way of reserving send times: the chat's limit waited for first, then the channel's slot,
    one reservation at a time per channel."""

    def __init__(
        self,
        db: Database,
        wall: Callable[[], datetime],
        owner: str,
        lease: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.wall = wall
        self.sleep = sleep  # waits on the wall clock (a test's fake wall moves on instead)
        self.owner = owner
        self.lease = lease
        self._reserving: dict[str, asyncio.Lock] = {}
        self._horizon: dict[str, datetime] = {}  # each channel's next free slot as this worker last saw it

    async def reserve(
        self, lane: Lane, limits: ChannelLimits, cost: int, also: Also | None = None
    ) -> datetime | None:
        """A send time under the shared limits; the lease is extended past it. None: the lane is gone.

        `also` runs in the reservation's transaction once a time is chosen (given the time), so that the
        sender's own writes share its commit."""
        # The chat's own limit first. Its stamp came with the lease and only the holder moves it, so waiting
        # for it needs no lock; reserving before it would take a channel slot far ahead, and the channel's
        # budget (one stamp, no holes) would sit idle until then for every other chat: the resident's second
        # notice within a second held up the offers to 300 technicians.
        chat_rate = limits.for_chat(lane.chat_id)
        if chat_rate is not None:
            chat_at = allowed_at(lane.next_send_at, chat_rate, cost, self.wall())
            if lane.paused_until is not None:
                chat_at = max(chat_at, lane.paused_until)
            if (early := seconds_until(chat_at, self.wall()) - CHAT_AHEAD) > 0:
                await self.sleep(early)
        # One reservation at a time per channel in this process: they all lock the channel's limiter row, so
        # more at once would only hold pooled connections while they wait (and starve the handlers of them).
        async with self._reserving.setdefault(lane.channel, asyncio.Lock()):
            # A burst (an offer's copies all edited at once) would otherwise reserve slots seconds ahead for
            # every chat at once: the same work, but all of it while the taps that caused the burst wait for
            # their answers. Waiting until this worker's last slot is near spreads it out at no cost.
            horizon = self._horizon.get(lane.channel)
            if horizon is not None and (early := seconds_until(horizon, self.wall()) - AHEAD) > 0:
                await self.sleep(early)
            return await self._reserve_now(lane, limits, cost, also)

    async def _reserve_now(
        self, lane: Lane, limits: ChannelLimits, cost: int, also: Also | None
    ) -> datetime | None:
        lease = timedelta(seconds=self.lease)
        async with self.db.transaction() as session:
            chosen = await reserve(session, limits, lane, self.owner, cost, self.wall, lease)
            if chosen is not None and also is not None:
                await also(session, chosen.at)
        if chosen is None:
            return None
        if chosen.channel_stamp is not None:
            self._horizon[lane.channel] = chosen.channel_stamp
        return chosen.at
