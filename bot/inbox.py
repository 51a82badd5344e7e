"""The durable inbox: an update or callback is answered (or confirmed) as soon as its raw event is committed.

WeChat gives a callback 5 seconds and then sends it again (and shows the resident "this account cannot
provide service" after the third try); Telegram's webhook waits for the answer before sending that chat
anything else. How busy we are should not decide either. So an accepted event is one INSERT (a repeat of an
event still waiting is dropped by the unique key), the platform gets its answer, and the event is handled
right after in the same process, in the order it came for its chat. The row is deleted once handled.

A worker that dies in between leaves the row with a lease (`lease_until`) that runs out; every worker's
timer tick sweeps rows whose lease ran out and handles them, oldest first per chat, and a worker restarted
under the same name (`BAOXIU_WORKER_ID`) takes its predecessor's rows back at start. A handler that fails
(the database went away) leaves its row for a later sweep, with growing pauses. Handling an event twice
(a lease that ran out while a slow photo downloaded) is harmless: the router's event log drops the repeat.

Polled Telegram updates come through here too: the poller confirms a page to Telegram once it is stored
(bot/telegram/stored.py), and asks for the next one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.batching import Batcher
from bot.inbox_slots import Slots
from bot.outbox.channel import backoff
from storage.db import Database
from storage.inbox_statements import FRESH_INSERT
from storage.models import InboxEvent
from storage.repositories import InboundLog, insert_skipping_repeats

log = logging.getLogger(__name__)
# Handles one event's payload; False (or an exception) leaves it for a later sweep.
Processor = Callable[[dict[str, Any]], Awaitable[bool]]
LEASE = 60.0  # seconds an accepted event is its worker's before any worker's sweep may take it
SWEEP_BATCH = 100
CLOSE_WAIT = 10.0  # seconds a clean stop waits for events being handled
NONCE_SUFFIX = "#nonce"  # a signed request's nonce is logged under its channel's name with this suffix
FORGET_LINGER = 0.1  # seconds handled events wait to be deleted together (see Inbox.__init__)


class ChatLocks:
    """One lock per chat in this process, so one person's events are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the chat's lock; idle locks are forgotten."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class Inbox:
    """Accepts raw events durably and hands them to the channel's processor, once, in order per chat."""

    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime],
        owner: str,
        *,
        lease: float = LEASE,
        concurrency: int = 4,
    ) -> None:
        self.db = db
        self.now = now
        self.owner = owner
        self.lease = timedelta(seconds=lease)
        self.processors: dict[str, Processor] = {}
        self.locks = ChatLocks()
        self.tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()  # set while no accepted event waits or is being handled
        self._idle.set()
        # Events handled at once: a burst's work then holds a few database connections, and the next
        # callback's INSERT finds one free instead of queueing behind all of it (see bot/inbox_slots.py).
        self._slots = Slots(concurrency)
        self._accepts: Batcher[_Arrival, int | None] = Batcher(self._store)
        # Nobody waits for a handled event's row to go: its deletes gather for a moment, so that a stream of
        # events costs a statement every FORGET_LINGER seconds rather than one for every few events.
        self._handled: Batcher[int, None] = Batcher(self._forget, linger=FORGET_LINGER)

    def register(self, channel: str, processor: Processor) -> None:
        """Name what handles this channel's events (before the first is accepted or swept)."""
        self.processors[channel] = processor

    async def accept(
        self, channel: str, event_id: str, chat_key: str, payload: dict[str, Any], *, nonce: str = ""
    ) -> bool:
        """Commit the event (one INSERT) and start handling it; False when it was a repeat of one still
        waiting, or (with `nonce`, a signed request's timestamp and nonce) a replayed request."""
        # Queued on the chat's lock before the INSERT is awaited, so events of one chat are handled in the
        # order they were accepted whichever commit finished first.
        accepted: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._spawn(self._when_accepted(accepted, channel, chat_key, payload))
        # Until it is stored, other work's transactions wait to begin (storage/urgency.py).
        with self.db.urgency.pending():
            stored = self._accepts.submit(_Arrival(channel, event_id[:80], chat_key[:128], payload, nonce))
            # Handled once committed even if the request that brought it is gone meanwhile.
            stored.add_done_callback(lambda done: accepted.set_result(_row_id(done)))
            return await asyncio.shield(stored) is not None

    async def _store(self, arrivals: list[_Arrival]) -> list[int | None]:
        """One commit for every event that came while the last batch was written: replayed nonces and
        repeats (of an event still waiting, or twice in the batch) get None."""
        now = self.now()
        nonced = any(arrival.nonce for arrival in arrivals)
        if not nonced or not self.db.is_sqlite:
            # One statement, atomic by itself (no BEGIN and COMMIT on PostgreSQL: the answer to the platform
            # waits for one round trip instead of three, or four with the nonces). Polled updates and
            # webhooks: the INSERT alone. Signed callbacks on PostgreSQL: their nonces recorded and the
            # events of fresh ones stored in one statement, each nonce counted once in the batch.
            firsts = _firsts(arrivals, {(a.channel, a.nonce) for a in arrivals if a.nonce})
            store = self._insert_fresh if nonced else self._insert

            async def insert(connection: AsyncConnection, again: bool) -> dict[tuple[str, str], int]:
                ids = await store(connection, firsts, now)
                if again:  # the first try may have committed before its connection died
                    ids |= await self._stored_by_us(connection, firsts, now)
                return ids

            ids = await self.db.run_alone(insert, urgent=True)
        else:  # SQLite has no INSERT inside WITH: the nonces first, in the same transaction
            async with self.db.transaction(urgent=True) as session:
                nonces: dict[str, list[str]] = defaultdict(list)
                for arrival in arrivals:
                    if arrival.nonce:
                        nonces[arrival.channel].append(arrival.nonce)
                fresh = {
                    (channel, nonce)
                    for channel, batch in nonces.items()
                    for nonce in await InboundLog(session).first_times(channel + NONCE_SUFFIX, batch, now)
                }
                firsts = _firsts(arrivals, fresh)
                ids = await self._insert(await session.connection(), firsts, now)
        return [
            ids.get((a.channel, a.event_id)) if firsts.get((a.channel, a.event_id)) is a else None
            for a in arrivals
        ]

    async def _insert(
        self, connection: AsyncConnection, firsts: dict[tuple[str, str], _Arrival], now: datetime
    ) -> dict[tuple[str, str], int]:
        """The events' rows (a repeat of one still waiting is skipped); their ids."""
        if not firsts:
            return {}
        rows = [
            {
                "channel": a.channel,
                "event_id": a.event_id,
                "chat_key": a.chat_key,
                "payload": a.payload,
                "received_at": now,
                "lease_owner": self.owner,
                "lease_until": now + self.lease,
                "attempts": 0,
            }
            for a in firsts.values()
        ]
        result = await connection.execute(_insert(connection.dialect.name), rows)
        return {(row.channel, row.event_id): row.id for row in result}

    async def _insert_fresh(
        self, connection: AsyncConnection, firsts: dict[tuple[str, str], _Arrival], now: datetime
    ) -> dict[tuple[str, str], int]:
        """PostgreSQL: the arrivals' nonces recorded and the rows of those whose nonce (if any) was new;
        their ids. A repeat of an event still waiting is skipped, as by `_insert`."""
        if not firsts:
            return {}
        arrivals = list(firsts.values())
        result = await connection.execute(
            FRESH_INSERT,
            {
                "channels": [a.channel for a in arrivals],
                "event_ids": [a.event_id for a in arrivals],
                "chat_keys": [a.chat_key for a in arrivals],
                "payloads": [json.dumps(a.payload) for a in arrivals],
                "nonce_channels": [a.channel + NONCE_SUFFIX for a in arrivals],
                "nonces": [a.nonce for a in arrivals],
                "now": now,
                "owner": self.owner,
                "lease_until": now + self.lease,
            },
        )
        return {(row.channel, row.event_id): row.id for row in result}

    async def _stored_by_us(
        self, connection: AsyncConnection, firsts: dict[tuple[str, str], _Arrival], now: datetime
    ) -> dict[tuple[str, str], int]:
        """Rows of these events this worker stored at `now`: an earlier try's, committed though its answer
        was lost (a repeat from elsewhere has another owner or time, and stays a repeat)."""
        table = cast(Table, InboxEvent.__table__)
        rows = await connection.execute(
            select(table.c.id, table.c.channel, table.c.event_id).where(
                table.c.lease_owner == self.owner,
                table.c.received_at == now,
                or_(*(and_(table.c.channel == c, table.c.event_id == e) for c, e in firsts)),
            )
        )
        return {(row.channel, row.event_id): row.id for row in rows}

    async def _forget(self, row_ids: list[int]) -> list[None]:
        """Delete handled events, a batch at a time (a crash before it only makes them handled again,
        which the event log makes harmless)."""
        try:
            await self.db.run_alone(
                lambda connection, _: connection.execute(delete(InboxEvent).where(InboxEvent.id.in_(row_ids)))
            )
        except Exception:  # the rows stay: handled again after their lease, which the event log drops
            log.exception("inbox: could not delete %d handled event(s)", len(row_ids))
        return [None] * len(row_ids)

    async def sweep(self) -> int:
        """Handle events whose worker died (their lease ran out), oldest first per chat; how many."""
        return len(await self._sweep())

    async def take_back(self) -> int:
        """At start, before accepting anything: handle the events a predecessor of the same name (killed)
        stored and did not finish, now rather than after their lease; how many."""
        total, after = 0, 0
        # Page by id: a handled row is deleted a moment later, and this worker's name is on it meanwhile.
        while taken := await self._sweep(mine_after=after):
            total, after = total + len(taken), max(taken)
        return total

    async def _sweep(self, *, mine_after: int | None = None) -> list[int]:
        """Handle a batch of rows whose lease ran out (and, with `mine_after`, this worker's own rows past
        that id); their ids."""
        if not self.processors:
            return []
        now = self.now()
        due = InboxEvent.lease_until <= now
        if mine_after is not None:
            due = and_(InboxEvent.id > mine_after, or_(due, InboxEvent.lease_owner == self.owner))
        async with self.db.transaction() as session:
            stmt = (
                select(InboxEvent.id, InboxEvent.channel, InboxEvent.chat_key, InboxEvent.payload)
                .where(due, InboxEvent.channel.in_(sorted(self.processors)))
                .order_by(InboxEvent.id)
                .limit(SWEEP_BATCH)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(stmt)).all()
            if not rows:
                return []
            await session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_([r.id for r in rows]))
                .values(lease_owner=self.owner, lease_until=now + self.lease)
            )
        by_chat: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in rows:
            by_chat[(row.channel, row.chat_key)].append(row)
        log.info("inbox: %d event(s) left by a stopped worker or a failure, handled now", len(rows))

        async def chat(events: list[Any]) -> None:
            for event in events:
                async with self.locks.hold(event.chat_key):
                    await self._handle(event.id, event.channel, event.payload)

        await asyncio.gather(*(chat(events) for events in by_chat.values()))
        return [row.id for row in rows]

    async def close(self) -> None:
        """Let events being handled finish (at shutdown); the rest are swept after the restart."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=CLOSE_WAIT)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_WAIT):  # not wait_for: see bot/wechat/client.py
                await self._handled.drain()

    async def settle(self) -> None:
        """Wait until every event accepted by this process so far is handled and deleted (tests, benches)."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))
        await self._handled.drain()

    async def pending(self) -> int:
        """Events not yet handled (for tests and health checks)."""
        async with self.db.transaction() as session:
            return len((await session.execute(select(InboxEvent.id))).all())

    async def _retry_later(self, session: AsyncSession, row_id: int) -> None:
        """A failed event is tried again by a sweep after a pause that grows with its attempts."""
        event = await session.get(InboxEvent, row_id)
        if event is None:
            return
        event.attempts += 1
        event.lease_owner = ""
        event.lease_until = self.now() + timedelta(seconds=backoff(event.attempts))
        if event.attempts % 10 == 0:
            log.error("inbox: %s event %s failed %d times", event.channel, row_id, event.attempts)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self._idle.set()

    async def quiet(self, at_most: float) -> None:
        """Wait until no accepted event waits or is being handled, at most `at_most` seconds (work that can
        wait lets the answers and replies go first)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):  # not wait_for: see bot/wechat/client.py
                await self._idle.wait()

    async def _when_accepted(
        self, accepted: asyncio.Future[int | None], channel: str, chat_key: str, payload: dict[str, Any]
    ) -> None:
        async with self.locks.hold(chat_key):
            row_id = await accepted
            if row_id is not None:
                await self._handle(row_id, channel, payload)

    async def _handle(self, row_id: int, channel: str, payload: dict[str, Any]) -> None:
        processor = self.processors.get(channel)
        try:
            async with self._slots.hold():
                handled = processor is not None and await processor(payload)
        except Exception:
            log.exception("inbox: handling %s event %s failed", channel, row_id)
            handled = False
        if handled:
            self._handled.submit(row_id)
            return
        try:
            async with self.db.transaction() as session:
                await self._retry_later(session, row_id)
        except Exception:  # the row stays: handled again after its lease, which the event log makes harmless
            log.exception("inbox: could not settle %s event %s", channel, row_id)


@dataclass(frozen=True, eq=False)
class _Arrival:
    """An event waiting for its batch's INSERT."""

    channel: str
    event_id: str
    chat_key: str
    payload: dict[str, Any]
    nonce: str


def _firsts(arrivals: list[_Arrival], fresh: set[tuple[str, str]]) -> dict[tuple[str, str], _Arrival]:
    """The arrivals to store, by event: the first of each event id whose nonce (if it has one) is `fresh`,
    a nonce counting once (a second use of it in the batch is a replay)."""
    firsts: dict[tuple[str, str], _Arrival] = {}
    for arrival in arrivals:
        if arrival.nonce:
            if (arrival.channel, arrival.nonce) not in fresh:
                continue
            fresh.discard((arrival.channel, arrival.nonce))
        firsts.setdefault((arrival.channel, arrival.event_id), arrival)
    return firsts


def _row_id(stored: asyncio.Future[int | None]) -> int | None:
    """The stored event's row, or None when it was not stored (a repeat, a replay, a failed commit)."""
    if stored.cancelled() or stored.exception() is not None:
        return None
    return stored.result()


@cache
def _insert(dialect: str) -> Insert:
    """Many events in one statement; a repeat of one still waiting is skipped (no row returned)."""
    table = cast(Table, InboxEvent.__table__)
    return insert_skipping_repeats(dialect, table, table.c.id, table.c.channel, table.c.event_id)
