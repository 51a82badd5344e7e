"""The outbox's chat lanes in SQL: which chats have something due, taking, extending and releasing leases.

Each statement is built once (per set of channels) with bound parameters and reused: building one with
subqueries costs SQLAlchemy more CPU (0.4-0.8 ms) than the database spends running it, and the sender runs
them for every chat it drains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Executable, Select, Table, Update, bindparam, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from bot.outbox.answers import queued
from storage.models import OutboxLane, OutboxMessage, RateLimit
from storage.repositories import upsert_for

PREFETCH = 20  # rows per chat read at a time
Head = aliased(OutboxMessage, name="head")  # the outer row of the "oldest pending row of its chat" query


@dataclass
class Lane:
    """A chat this worker holds the lease of."""

    channel: str
    chat_id: str
    lease_until: datetime
    # The chat's rate-limit stamp and pause as taken: only the lease holder changes them (see ratelimit.py).
    next_send_at: datetime | None = None
    paused_until: datetime | None = None
    # Pending rows read with the claim, oldest first (saves a round trip per chat).
    rows: list[OutboxMessage] = field(default_factory=list)
    # Message ids of earlier rows by ref, for the edits among `rows` (read with them, kept as rows go out).
    targets: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(channel, chat_id)."""
        return self.channel, self.chat_id


@cache
def _heads(channels: tuple[str, ...], fast: frozenset[str]) -> Executable:
    earlier = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.channel == Head.channel,
            OutboxMessage.chat_id == Head.chat_id,
            OutboxMessage.status == "pending",
            OutboxMessage.id < Head.id,
            queued(OutboxMessage, fast),
        )
        .exists()
    )
    held = (
        select(OutboxLane.chat_id)
        .where(
            OutboxLane.channel == Head.channel,
            OutboxLane.chat_id == Head.chat_id,
            or_(OutboxLane.lease_until >= bindparam("wall"), OutboxLane.paused_until > bindparam("wall")),
        )
        .exists()
    )
    paused = select(RateLimit.key).where(
        RateLimit.key.in_(channels), RateLimit.paused_until > bindparam("wall")
    )
    return (
        select(Head.channel, Head.chat_id)
        .where(
            Head.status == "pending",
            Head.channel.in_(channels),
            Head.channel.not_in(paused),
            Head.next_attempt_at <= bindparam("now"),
            queued(Head, fast),
            ~earlier,
            ~held,
        )
        .order_by(Head.id)
        .limit(bindparam("limit"))
    )


async def heads(
    session: AsyncSession,
    channels: list[str],
    fast: frozenset[str],
    now: datetime,
    wall: datetime,
    limit: int,
) -> list[tuple[str, str]]:
    """Chats whose oldest pending row is due, not held by a lease nor paused, oldest first."""
    stmt = _heads(tuple(sorted(channels)), fast)
    rows = await session.execute(stmt, {"now": now, "wall": wall, "limit": limit})
    return [(str(c), str(chat)) for c, chat in rows]


@cache
def _take() -> Update:
    free = (
        select(OutboxLane.channel, OutboxLane.chat_id)
        .where(
            tuple_(OutboxLane.channel, OutboxLane.chat_id).in_(bindparam("keys", expanding=True)),
            or_(OutboxLane.lease_until.is_(None), OutboxLane.lease_until < bindparam("wall")),
            or_(OutboxLane.paused_until.is_(None), OutboxLane.paused_until <= bindparam("wall")),
        )
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxLane)
        .where(tuple_(OutboxLane.channel, OutboxLane.chat_id).in_(free))
        .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
        .returning(OutboxLane.channel, OutboxLane.chat_id, OutboxLane.next_send_at, OutboxLane.paused_until)
        .execution_options(synchronize_session=False)
    )


async def take(
    session: AsyncSession,
    keys: list[tuple[str, str]],
    owner: str,
    wall: datetime,
    until: datetime,
    limit: int,
) -> list[Lane]:
    """Lease the free lanes among `keys` in one statement, skipping lanes another worker is claiming."""
    params = {"keys": keys, "owner": owner, "wall": wall, "until": until, "limit": limit}
    return [
        Lane(str(c), str(chat), until, next_send_at=stamp, paused_until=pause)
        for c, chat, stamp, pause in await session.execute(_take(), params)
    ]


async def create(session: AsyncSession, keys: list[tuple[str, str]]) -> None:
    """Lane rows for chats never sent to before (an existing one is left alone)."""
    new = [{"channel": c, "chat_id": chat, "lease_owner": ""} for c, chat in sorted(keys)]
    await session.execute(_create(session.get_bind().dialect.name), new)


@cache
def _create(dialect: str) -> Executable:
    # Rows as parameters, not a multi-row VALUES: SQLAlchemy caches this one's compiled form.
    stmt: Executable = upsert_for(dialect, OutboxLane).on_conflict_do_nothing()
    return stmt


@cache
def _prefetch(fast: frozenset[str]) -> Select[Any]:
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            tuple_(OutboxMessage.channel, OutboxMessage.chat_id).in_(bindparam("keys", expanding=True)),
            queued(OutboxMessage, fast),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("limit"))
    )


async def prefetch(session: AsyncSession, lanes: list[Lane], fast: frozenset[str]) -> None:
    """Read the claimed chats' first pending rows and their edit targets with the claim."""
    by_key = {lane.key: lane for lane in lanes}
    params = {"keys": list(by_key), "limit": PREFETCH * len(lanes)}
    for message in (await session.execute(_prefetch(fast), params)).scalars():
        lane_rows = by_key[(message.channel, message.chat_id)].rows
        if len(lane_rows) < PREFETCH:
            lane_rows.append(message)
    await read_targets(session, [(lane, lane.rows) for lane in lanes])


@cache
def _pending(fast: frozenset[str]) -> Select[Any]:
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == bindparam("b_channel"),
            OutboxMessage.chat_id == bindparam("b_chat"),
            OutboxMessage.status == "pending",
            queued(OutboxMessage, fast),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("limit"))
    )


async def pending(session: AsyncSession, lane: Lane, fast: frozenset[str], limit: int) -> list[OutboxMessage]:
    """The chat's oldest pending rows (the lane's `targets` learn the edits' message ids)."""
    params = {"b_channel": lane.channel, "b_chat": lane.chat_id, "limit": limit}
    rows = list((await session.execute(_pending(fast), params)).scalars().all())
    await read_targets(session, [(lane, rows)])
    return rows


async def read_targets(session: AsyncSession, batches: list[tuple[Lane, list[OutboxMessage]]]) -> None:
    """Each lane learns the message ids that the edits among its rows will change, in one query."""
    wanted = {(lane.channel, lane.chat_id, r.edit_ref) for lane, rows in batches for r in rows if r.edit_ref}
    if not wanted:
        return
    by_key = {lane.key: lane for lane, _ in batches}
    found = await session.execute(
        select(
            OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.ref, OutboxMessage.channel_message_id
        )
        .where(
            tuple_(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.ref).in_(sorted(wanted)),
            OutboxMessage.status == "sent",
            OutboxMessage.channel_message_id.is_not(None),
        )
        .order_by(OutboxMessage.id)
    )
    for channel, chat_id, ref, message_id in found:
        if message_id:
            by_key[(channel, chat_id)].targets[ref] = message_id  # the latest wins, as in delivered_id


def _is_ours() -> tuple[Any, ...]:
    return (
        OutboxLane.channel == bindparam("b_channel"),
        OutboxLane.chat_id == bindparam("b_chat"),
        OutboxLane.lease_owner == bindparam("owner"),
    )


@cache
def _release() -> Update:
    return (
        update(OutboxLane)
        .where(*_is_ours())
        .values(lease_owner="", lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _waiting(fast: frozenset[str]) -> Select[Any]:
    """The lane's chat's rows still to go through the lane."""
    return select(OutboxMessage.id).where(
        OutboxMessage.channel == bindparam("b_channel"),
        OutboxMessage.chat_id == bindparam("b_chat"),
        OutboxMessage.status == "pending",
        queued(OutboxMessage, fast),
    )


@cache
def _release_if_idle(fast: frozenset[str]) -> Update:
    return (
        update(OutboxLane)
        .where(*_is_ours(), ~_waiting(fast).exists())
        .values(lease_owner="", lease_until=None)
        .execution_options(synchronize_session=False)
    )


@cache
def _extend() -> Update:
    return (
        update(OutboxLane)
        .where(*_is_ours())
        .values(lease_until=bindparam("until"))
        .execution_options(synchronize_session=False)
    )


def _ours(lane: Lane, owner: str) -> dict[str, str]:
    return {"b_channel": lane.channel, "b_chat": lane.chat_id, "owner": owner}


@cache
def finish_stmt() -> Update:
    """Mark one row finished, only if still pending."""
    rows = cast(Table, OutboxMessage.__table__)
    return (
        update(rows)
        .where(rows.c.id == bindparam("b_id"), rows.c.status == "pending")
        .values(
            status=bindparam("b_status"),
            sent_at=bindparam("b_sent_at"),
            channel_message_id=bindparam("b_message_id"),
            attempts=bindparam("b_attempts"),
            error=bindparam("b_error"),
        )
    )


@cache
def mark_sending_one() -> Update:
    """Mark the row `b_id` in flight at `b_at` (None: not after all), if it is still pending."""
    rows = cast(Table, OutboxMessage.__table__)
    return (
        update(rows)
        .where(rows.c.id == bindparam("b_id"), rows.c.status == "pending")
        .values(sending_at=bindparam("b_at"))
    )


@cache
def mark_sending_all() -> Update:
    """Mark the rows `b_ids` in flight at `b_at`, those still pending (one statement)."""
    rows = cast(Table, OutboxMessage.__table__)
    return (
        update(rows)
        .where(rows.c.id.in_(bindparam("b_ids", expanding=True)), rows.c.status == "pending")
        .values(sending_at=bindparam("b_at"))
    )


async def mark_sending(session: AsyncSession, row_id: int, at: datetime | None) -> None:
    """Mark a row in flight to its channel, or (None) not after all; only while it is pending."""
    await session.execute(mark_sending_one(), {"b_id": row_id, "b_at": at})


@cache
def _finish_and_release(fast: frozenset[str]) -> Select[Any]:
    rows, lanes = cast(Table, OutboxMessage.__table__), cast(Table, OutboxLane.__table__)
    done = finish_stmt().returning(rows.c.id).cte("done")
    # Every part of the statement sees the rows as they were before it, so the row being recorded would
    # still look pending here: it is left out by id.
    waiting = _waiting(fast).where(OutboxMessage.id != bindparam("b_id"))
    released = (
        update(lanes)
        .where(*_is_ours(), ~waiting.exists())
        .values(lease_owner="", lease_until=None)
        .returning(lanes.c.chat_id)
        .cte("released")
    )
    return select(
        select(func.count()).select_from(done).scalar_subquery(),
        select(func.count()).select_from(released).scalar_subquery(),
    )


async def finish_and_release_if_idle(
    session: AsyncSession | AsyncConnection,
    lane: Lane,
    owner: str,
    fast: frozenset[str],
    finish: dict[str, object],
) -> tuple[bool, bool]:
    """PostgreSQL: record one row as `finish_stmt` does and release the lane when nothing else is pending,
    in one statement; (recorded, released)."""
    recorded, released = (
        await session.execute(_finish_and_release(fast), {**_ours(lane, owner), **finish})
    ).one()
    return bool(recorded), bool(released)


async def release(session: AsyncSession, lane: Lane, owner: str) -> None:
    """Give the lane up (only if it is still ours)."""
    await session.execute(_release(), _ours(lane, owner))


async def release_if_idle(session: AsyncSession, lane: Lane, owner: str, fast: frozenset[str]) -> bool:
    """Give the lane up when the chat has nothing pending; True when it did (one statement)."""
    result = await session.execute(_release_if_idle(fast), _ours(lane, owner))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def extend(session: AsyncSession, lane: Lane, owner: str, until: datetime) -> bool:
    """Push the lease forward; False when another worker has the lane."""
    result = await session.execute(_extend(), {**_ours(lane, owner), "until": until})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def renew(session: AsyncSession, held: list[Lane], owner: str, until: datetime) -> None:
    """Push forward the leases of lanes still draining (only those still ours)."""
    await session.execute(
        update(OutboxLane)
        .where(
            OutboxLane.lease_owner == owner,
            OutboxLane.lease_until.is_not(None),
            tuple_(OutboxLane.channel, OutboxLane.chat_id).in_([lane.key for lane in held]),
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )


async def release_all(session: AsyncSession, owner: str, channels: list[str]) -> int:
    """Give up every lane of these channels `owner` holds: at a clean stop, and at start-up for the leases a
    predecessor of the same name held when it died (nobody else sends under that name). Returns how many."""
    result = await session.execute(
        update(OutboxLane)
        .where(
            OutboxLane.lease_owner == owner,
            OutboxLane.lease_until.is_not(None),
            OutboxLane.channel.in_(channels),
        )
        .values(lease_owner="", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
