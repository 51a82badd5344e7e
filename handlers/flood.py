"""Flood control per sender, in the database and inside the event's transaction, so it holds across workers.

A GCRA per sender (`inbound_rates`): a burst of `flood_burst` events, then `flood_per_minute`. An event over
the limit is recorded as handled and dropped; the sender gets one polite message (at most one a minute) asking
them to slow down and send it again. Only private chats and button taps count: people talking among themselves
in a group are not the bot's business.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Interval,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from handlers.i18n import Translator
from handlers.messages import Inbound, Kind, Outbound
from storage.models import InboundEvent, InboundRate, UTCDateTime
from storage.repositories import InboundLog, log_event

WARN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class InboundLimits:
    """Limits from settings; the defaults switch everything off (tests, the console)."""

    flood_burst: int = 15
    flood_per_minute: float = 0.0
    max_open_per_day: int = 0


# The router sets this for each event, so dialogs can see the limits without threading them through.
OFF = InboundLimits()
CURRENT: ContextVar[InboundLimits] = ContextVar("inbound_limits", default=OFF)


def _counted(inbound: Inbound, limits: InboundLimits) -> bool:
    return limits.flood_per_minute > 0 and (inbound.is_private or inbound.kind == Kind.BUTTON)


def _pace(limits: InboundLimits) -> tuple[timedelta, timedelta]:
    """The interval between events and the burst's tolerance."""
    interval = timedelta(seconds=60.0 / limits.flood_per_minute)
    return interval, interval * (max(1, limits.flood_burst) - 1)


async def first_and_throttle(
    session: AsyncSession, inbound: Inbound, now: datetime, limits: InboundLimits
) -> str | None:
    """Record the event in the event log and weigh it against its sender's limit: None when it was handled
    before (and nothing is counted), else as `throttle`. On PostgreSQL one statement does both (it runs for
    every event: a round trip saved)."""
    channel, sender = inbound.identity.channel, inbound.identity.external_id
    if _counted(inbound, limits) and session.get_bind().dialect.name == "postgresql":
        interval, tolerance = _pace(limits)
        return await _throttle_in_one(session, channel, sender, now, interval, tolerance, inbound.event_id)
    if not await InboundLog(session).first_time(channel, inbound.event_id, now):
        return None
    return await throttle(session, inbound, now, limits)


async def first_and_throttle_alone(
    connection: AsyncConnection, inbound: Inbound, now: datetime, limits: InboundLimits
) -> str | None:
    """PostgreSQL, on a connection in autocommit: `first_and_throttle` as one statement standing alone."""
    channel, sender = inbound.identity.channel, inbound.identity.external_id
    if not _counted(inbound, limits):
        params = {"b_channel": channel, "b_event": inbound.event_id, "b_now": now}
        logged = await connection.execute(log_event("postgresql"), params)
        return "" if logged.rowcount else None
    interval, tolerance = _pace(limits)
    return await _throttle_in_one(connection, channel, sender, now, interval, tolerance, inbound.event_id)


async def throttle(session: AsyncSession, inbound: Inbound, now: datetime, limits: InboundLimits) -> str:
    """Empty when the event may be handled; "warn" or "drop" when the sender is over the limit."""
    if not _counted(inbound, limits):
        return ""
    channel, sender = inbound.identity.channel, inbound.identity.external_id
    interval, tolerance = _pace(limits)
    if session.get_bind().dialect.name == "postgresql":
        return await _throttle_in_one(session, channel, sender, now, interval, tolerance) or ""
    return await _throttle_in_two(session, channel, sender, now, interval, tolerance)


async def _throttle_in_two(
    session: AsyncSession, channel: str, sender: str, now: datetime, interval: timedelta, tolerance: timedelta
) -> str:
    """The rule (a GCRA): read the sender's row, locked, and move it on unless the event is over the limit."""
    stmt = _sender_rate(session.get_bind().dialect.name)
    row = (await session.execute(stmt, {"b_channel": channel, "b_sender": sender, "b_now": now})).scalar_one()
    stamp = max(row.next_at, now)
    if stamp - tolerance > now:
        if row.warned_at is None or row.warned_at <= now - WARN_EVERY:
            row.warned_at = now
            return "warn"
        return "drop"
    row.next_at = stamp + interval
    return ""


async def _throttle_in_one(
    session: AsyncSession | AsyncConnection,
    channel: str,
    sender: str,
    now: datetime,
    interval: timedelta,
    tolerance: timedelta,
    event_id: str | None = None,
) -> str | None:
    """The same rule as the general path, decided and recorded by PostgreSQL in one statement (it runs for
    every event); the row as it was comes back to say which way it went. With `event_id` the statement also
    records the event in the event log, and counts it only if it was not there: None when it was."""
    params = {
        "b_channel": channel,
        "b_sender": sender,
        "b_now": now,
        "b_first": now + interval,
        "b_limit": now + tolerance,
        "b_interval": interval,
        "b_warn_before": now - WARN_EVERY,
    }
    if event_id is not None:
        params["b_event"] = event_id
    row = (await session.execute(_sender_rate_pg(event_id is not None), params)).one_or_none()
    if row is None:
        return None
    before_next, before_warned = row
    if before_next is None or before_next - tolerance <= now:
        return ""
    if before_warned is None or before_warned <= now - WARN_EVERY:
        return "warn"
    return "drop"


@cache
def _sender_rate_pg(with_event: bool) -> Any:
    """PostgreSQL: take the sender's row (locked, as it was), then insert it or move it on: one statement.
    With `with_event` the event is first recorded in the event log, and the row moves only if it was new."""
    rates = cast(Table, InboundRate.__table__)
    now = bindparam("b_now", type_=UTCDateTime())
    # FOR UPDATE waits for another event of the same sender and then reads its result (read committed).
    prior = (
        select(rates.c.next_at, rates.c.warned_at)
        .where(rates.c.channel == bindparam("b_channel"), rates.c.external_id == bindparam("b_sender"))
        .with_for_update()
        .cte("prior")
    )
    over = rates.c.next_at > bindparam("b_limit", type_=UTCDateTime())
    # INSERT ... SELECT joined to `prior` so that it is read (and the row locked) before the row changes;
    # read from RETURNING alone it would come after, and miss the row this statement just updated.
    source = select(literal(1).label("one")).subquery().outerjoin(prior, true())
    values = select(
        bindparam("b_channel", type_=String()),
        bindparam("b_sender", type_=String()),
        bindparam("b_first", type_=UTCDateTime()),
    ).select_from(source)
    if with_event:
        events = cast(Table, InboundEvent.__table__)
        logged = log_event("postgresql").returning(events.c.event_id).cte("logged")
        # A repeat inserts nothing here, so the sender's row is left as it was and nothing comes back.
        values = values.where(exists(select(logged.c.event_id)))
    insert = postgresql.insert(rates).from_select(["channel", "external_id", "next_at"], values)
    warn_again = or_(rates.c.warned_at.is_(None), rates.c.warned_at <= bindparam("b_warn_before"))
    return insert.on_conflict_do_update(
        index_elements=["channel", "external_id"],
        set_={
            "next_at": case(
                (over, rates.c.next_at),
                else_=func.greatest(rates.c.next_at, now) + bindparam("b_interval", type_=Interval()),
            ),
            "warned_at": case((and_(over, warn_again), now), else_=rates.c.warned_at),
        },
    ).returning(select(prior.c.next_at).scalar_subquery(), select(prior.c.warned_at).scalar_subquery())


@cache
def _sender_rate(dialect: str) -> Any:
    """Built once per dialect (it runs for every event): the sender's row, created if missing, locked."""
    module = postgresql if dialect == "postgresql" else sqlite
    insert = module.insert(InboundRate).values(
        channel=bindparam("b_channel"), external_id=bindparam("b_sender"), next_at=bindparam("b_now")
    )
    # One round trip: DO UPDATE (of nothing that changes) returns the row, new or old, locked on PostgreSQL
    # for this transaction as SELECT ... FOR UPDATE would; SQLite's writer lock is already held.
    stmt = insert.on_conflict_do_update(
        index_elements=["channel", "external_id"], set_={"external_id": insert.excluded.external_id}
    ).returning(InboundRate)
    return select(InboundRate).from_statement(stmt).execution_options(populate_existing=True)


def slow_down(inbound: Inbound, t: Translator, warn: bool) -> list[Outbound]:
    """What a throttled sender gets: one polite message per flood, and a silent answer to a tap."""
    out: list[Outbound] = []
    channel, chat = inbound.identity.channel, inbound.chat_id
    text = t(
        "You're sending messages faster than I can read them. Please wait a few seconds, then send your "
        "last message again."
    )
    if inbound.callback_id:
        out.append(Outbound(channel, chat, text if warn else "", callback_id=inbound.callback_id))
    elif warn:
        out.append(Outbound(channel, chat, text))
    return out
