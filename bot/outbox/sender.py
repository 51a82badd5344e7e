"""The outbox sender: delivers committed outbound rows, in order per chat, on any number of workers.

How a row goes out:

1. **Claim a lane.** Each chat is a lane (`outbox_lanes`). A pass picks chats whose oldest pending row is due
   and takes their lanes with a lease (`lease_owner`, `lease_until`) in one transaction, skipping lanes that
   another worker holds (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers anyway). Only the
   lease holder sends to a chat, so a chat's rows go out one at a time, oldest first, across workers.
2. **Reserve a slot.** On a channel with limits (Telegram), a send time is reserved in the database under
   the chat's and the channel's limits (see bot/outbox/ratelimit.py), so the limits hold for the deployment.
3. **Mark, send and record.** A new message is marked in flight in a commit just before the call, and
   marked sent (only if still pending) after it. A worker that dies in between leaves the row pending and
   marked, and Telegram cannot be asked whether it arrived: the next worker finishes it as `in_doubt`
   instead of sending a second copy (at most once; see bot/outbox/inflight.py). An edit or a tap answer is
   simply done again, which shows nothing new. A send that timed out waiting for Telegram's answer is in
   doubt too (bot/outbox/outcomes.py).

Failures: a permanent error (the user blocked the bot) is recorded on the row and in the ticket's log, and
when the message was important the area's supervisor is told; a 429 pauses the chat and the channel for
`retry_after` without counting against the row; a network outage pauses the channel with growing pauses and
does not count either; anything else is retried with exponential backoff and jitter, up to MAX_ATTEMPTS.
A row that must wait holds back only its own chat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.outbox import lanes
from bot.outbox.answers import answer_forever, fast_channels, send_answers
from bot.outbox.channel import Delivery
from bot.outbox.drain import ChatDrain
from bot.outbox.lanes import Lane
from bot.outbox.outcomes import Outcomes
from bot.outbox.ratelimit import ChannelLimits, Reservations, channel_row
from dispatch.clock import Clock
from storage.db import Database
from storage.models import OutboxMessage, RateLimit

log = logging.getLogger(__name__)
FIRST_CLAIM = 16  # chats claimed before the rest of a pass (see _claim_and_spawn)


async def _impatient(seconds: float) -> None:
    """Waits for nothing."""


def utc_now() -> datetime:
    """Wall-clock time: leases and rate limits are about real seconds, whatever the domain clock says."""
    return datetime.now(UTC)


class OutboxSender:
    """Delivers pending outbox rows through the channel that reaches each chat."""

    def __init__(
        self,
        db: Database,
        channels: dict[str, Delivery],
        clock: Clock,
        batch: int = 200,
        *,
        lease: float = 60.0,
        limits: dict[str, ChannelLimits] | None = None,
        wall: Callable[[], datetime] = utc_now,
        owner: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.limits: dict[str, ChannelLimits] = limits if limits is not None else {}
        self.wall = wall
        self.sleep = sleep  # rate-limit waits, on the wall clock
        # A worker's name in the leases. Given (a stable name that survives restarts), the worker takes back
        # at start the chats its dead predecessor held instead of waiting out their leases; by default a
        # name of its own, never reused.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._tap_wake = asyncio.Event()
        # One pass at a time in this process; lanes of other workers are kept apart by their leases.
        self._pass = asyncio.Lock()
        self._active: dict[tuple[str, str], tuple[Lane, asyncio.Task[int]]] = {}
        self.last_run_at = clock.now()
        self.outcomes = Outcomes(db, clock, wall, self.wake)
        self.reservations = Reservations(db, wall, self.owner, lease, sleep)
        self.chats = ChatDrain(self)
        # What an edit that nothing waits behind yields to (the app's inbox: Inbox.quiet); nothing by default.
        self.patience: Callable[[float], Awaitable[None]] = _impatient

    def use_wall(self, wall: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]]) -> None:
        """Leases and rate limits on another wall clock (a test's fake one, whose sleep moves it on)."""
        self.wall = self.outcomes.wall = self.reservations.wall = wall
        self.sleep = self.reservations.sleep = sleep

    def rename(self, owner: str | None = None) -> None:
        """Use another name in the leases (a new one of its own by default); only before run_forever."""
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.reservations.owner = self.owner

    @property
    def fast(self) -> frozenset[str]:
        """Channels whose tap answers skip the chat lanes (read each time: adapters join after start-up)."""
        return fast_channels(self.channels)

    def wake(self) -> None:
        """Ask the running loop to look at the outbox now."""
        self._wake.set()
        self._tap_wake.set()

    def wake_lanes(self) -> None:
        """Ask the running loop to look at the chats' rows now (not at the tap answers)."""
        self._wake.set()

    def wake_taps(self) -> None:
        """Ask the running loop to claim the pending tap answers now."""
        self._tap_wake.set()

    # ----- passes ----------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the chats that have something due and drain them; return how many rows were finished."""
        async with self._pass:
            self.last_run_at = self.clock.now()
            answered = await send_answers(self.db, self.channels, self.fast, self.clock)
            lanes = await self._claim(self.batch)
            counts = await asyncio.gather(*(self.chats.drain(lane) for lane in lanes))
            return answered + sum(counts)

    async def run_forever(self, interval: float = 1.0, max_lanes: int = 200) -> None:
        """Claim chats when woken and at least every `interval` seconds; each chat drains as a task."""
        answering = answer_forever(
            self.db, self.channels, self.fast, self.clock, lambda: self._sleep(interval, self._tap_wake)
        )
        taps = asyncio.create_task(answering, name="outbox:answers")
        try:
            await self.release_leases("taken back from a predecessor")
            while True:
                self.last_run_at = self.clock.now()
                try:
                    await self._claim_and_spawn(max_lanes - len(self._active))
                    await self._renew_leases()
                except Exception:
                    log.exception("outbox pass failed")
                await self._sleep(interval)
        finally:
            tasks = [taps, *(task for _, task in self._active.values())]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Nothing is in flight any more: hand the chats back, so a successor need not wait for the leases.
            await self.release_leases("released at stop")

    async def release_leases(self, why: str) -> None:
        """Give up every lane held under this worker's name (never raises: the leases simply run out)."""
        if not self.channels:
            return
        try:
            async with self.db.transaction() as session:
                count = await lanes.release_all(session, self.owner, sorted(self.channels))
        except Exception:
            log.warning("could not release the leases of %s", self.owner, exc_info=True)
            return
        if count:
            log.info("%d chat lease(s) of %s %s", count, self.owner, why)

    async def _claim_and_spawn(self, free: int) -> None:
        """Claim up to `free` chats and start draining them: a few first, so that the first messages of a big
        fan-out are on their way while the rest are claimed (claiming 200 new chats takes a tenth of a
        second), then the rest in one go."""
        want = min(free, FIRST_CLAIM)
        while want > 0:
            claimed = await self._claim(want)
            for lane in claimed:
                self._spawn(lane)
            free -= len(claimed)
            if len(claimed) < want:
                return
            want = free

    async def _sleep(self, interval: float, event: asyncio.Event | None = None) -> None:
        """Until woken or `interval` passes. Not asyncio.wait_for: on Python 3.11 it can swallow a
        cancellation that arrives as the event is set, and the loop would never stop."""
        event = event or self._wake
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({waiter}, timeout=interval)
        finally:
            waiter.cancel()
        event.clear()

    def _spawn(self, lane: Lane) -> None:
        task = asyncio.create_task(self.chats.drain(lane), name=f"outbox:{lane.channel}:{lane.chat_id}")
        self._active[lane.key] = (lane, task)

        def done(finished: asyncio.Task[int]) -> None:
            # The lane was released in the database before the task ended; it may already run again.
            if self._active.get(lane.key, (None, None))[1] is finished:
                del self._active[lane.key]

        task.add_done_callback(done)

    # ----- lanes -----------------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[Lane]:
        """Take the lanes of chats whose oldest pending row is due, skipping held and paused ones."""
        channels = list(self.channels)
        if not channels or limit <= 0:
            return []
        now, wall = self.clock.now(), self.wall()
        until = wall + timedelta(seconds=self.lease)
        # On PostgreSQL each statement stands alone: the claim's BEGIN and COMMIT were two of its five round
        # trips, and under read committed every statement saw its own snapshot anyway. A lease taken by a
        # statement that committed is held whatever follows: given back below if the rows cannot be read.
        alone = not self.db.is_sqlite
        claimed: list[Lane] = []
        async with self.db.statements_alone() if alone else self.db.transaction() as session:
            try:
                keys = await lanes.heads(session, channels, self.fast, now, wall, limit)
                if not keys:
                    return []
                claimed = await lanes.take(session, keys, self.owner, wall, until, limit)
                missing = sorted(set(keys) - {lane.key for lane in claimed}) if len(claimed) < limit else []
                if missing:
                    # Chats never sent to before have no lane row yet (one another worker is claiming right
                    # now is skipped again by the second try).
                    await lanes.create(session, missing)
                    claimed += await lanes.take(
                        session, missing, self.owner, wall, until, limit - len(claimed)
                    )
                if claimed:
                    await lanes.prefetch(session, claimed, self.fast)
            except Exception:
                if alone and claimed:
                    await self._give_back(claimed)
                raise
        return claimed

    async def _give_back(self, claimed: list[Lane]) -> None:
        """Release lanes just claimed and never drained (never raises: the leases simply run out)."""
        try:
            async with self.db.transaction() as session:
                for lane in claimed:
                    await lanes.release(session, lane, self.owner)
        except Exception:
            log.warning("could not give back %d claimed chat(s)", len(claimed), exc_info=True)

    async def _renew_leases(self) -> None:
        """Keep the leases of lanes still draining (a long rate-limited wait, a slow upload)."""
        wall = self.wall()
        due = [
            lane
            for lane, _ in self._active.values()
            if (lane.lease_until - wall).total_seconds() < self.lease / 2
        ]
        if not due:
            return
        until = wall + timedelta(seconds=self.lease)
        async with self.db.transaction() as session:
            await lanes.renew(session, due, self.owner, until)
        for lane in due:
            lane.lease_until = until

    async def pending_count(self) -> int:
        """Rows not yet finished (for tests and health checks)."""
        async with self.db.transaction() as session:
            stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            return int((await session.execute(stmt)).scalar_one())

    async def channel_state(self, channel: str) -> RateLimit:
        """The channel's shared limiter row (for tests)."""
        async with self.db.transaction() as session:
            return await channel_row(session, channel, lock=False)
