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
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops import metrics
from bot.outbox import inflight, lanes, merge
from bot.outbox.answers import answer_forever, fast_channels, send_answers
from bot.outbox.channel import Delivery, DeliveryError
from bot.outbox.inflight import Sent
from bot.outbox.lanes import PREFETCH, Lane
from bot.outbox.outcomes import Outcomes, sent_twice
from bot.outbox.ratelimit import ChannelLimits, Reservations, channel_row, seconds_until
from dispatch.clock import Clock
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxMessage, RateLimit
from storage.repositories import Outbox

log = logging.getLogger(__name__)
FIRST_CLAIM = 16  # chats claimed before the rest of a pass (see _claim_and_spawn)


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

    # ----- passes ----------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the chats that have something due and drain them; return how many rows were finished."""
        async with self._pass:
            self.last_run_at = self.clock.now()
            answered = await send_answers(self.db, self.channels, self.fast, self.clock)
            lanes = await self._claim(self.batch)
            counts = await asyncio.gather(*(self._drain(lane) for lane in lanes))
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
        task = asyncio.create_task(self._drain(lane), name=f"outbox:{lane.channel}:{lane.chat_id}")
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
        async with self.db.transaction() as session:
            keys = await lanes.heads(session, channels, self.fast, now, wall, limit)
            if not keys:
                return []
            claimed = await lanes.take(session, keys, self.owner, wall, until, limit)
            missing = sorted(set(keys) - {lane.key for lane in claimed}) if len(claimed) < limit else []
            if missing:
                # Chats never sent to before have no lane row yet (one another worker is claiming right now
                # is skipped again by the second try).
                await lanes.create(session, missing)
                claimed += await lanes.take(session, missing, self.owner, wall, until, limit - len(claimed))
            if claimed:
                await lanes.prefetch(session, claimed, self.fast)
        return claimed

    def _holds(self, lane: Lane) -> bool:
        """True while our lease is safely ahead of the clock (a margin for other workers' clocks)."""
        margin = min(5.0, self.lease / 4)
        return self.wall() + timedelta(seconds=margin) < lane.lease_until

    async def _extend(self, lane: Lane) -> bool:
        """Push our lease forward when half of it is used; False when another worker has the lane."""
        remaining = (lane.lease_until - self.wall()).total_seconds()
        if remaining > self.lease / 2:
            return True
        until = self.wall() + timedelta(seconds=self.lease)
        async with self.db.transaction() as session:
            still_ours = await lanes.extend(session, lane, self.owner, until)
        if not still_ours:
            log.warning("lost the lease of %s:%s", lane.channel, lane.chat_id)
            return False
        lane.lease_until = until
        return True

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

    async def _release(self, lane: Lane) -> None:
        try:
            async with self.db.transaction() as session:
                await lanes.release(session, lane, self.owner)
        except Exception:  # the lease simply runs out
            log.warning("could not release lane %s:%s", lane.channel, lane.chat_id, exc_info=True)

    # ----- one chat --------------------------------------------------------------------------------

    async def _drain(self, lane: Lane) -> int:
        """Deliver one chat's due rows in order, stopping at the first one that must wait."""
        finished = 0
        released = False
        # Rows sent but not yet recorded: recorded in the commit that marks the chat's next message in
        # flight, or in the one that reads its next rows (or releases the lane): a transaction saved each.
        unrecorded: Sent = []
        try:
            while await self._extend(lane):
                rows, lane.rows = lane.rows or await self._pending_or_release(lane, unrecorded), []
                unrecorded.clear()
                if not rows:
                    released = True
                    break
                i = 0
                while i < len(rows):
                    row = rows[i]
                    if row.next_attempt_at > self.clock.now() or not await self._extend(lane):
                        return finished
                    n = self._run(rows, i)
                    outcome = await self._deliver(row, lane, unrecorded, rows[i + 1 : i + n])
                    if outcome not in ("sent", "skipped", "failed"):
                        return finished
                    done = n if outcome == "sent" else 1
                    finished += done
                    i += done
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("draining %s:%s failed", lane.channel, lane.chat_id)
        finally:
            if unrecorded:
                try:
                    await self._record_sent(unrecorded)
                except Exception:  # left pending and in flight: finished as in doubt, never sent twice
                    log.exception("recording sent rows of %s:%s failed", lane.channel, lane.chat_id)
            if not released:
                await self._release(lane)
        return finished

    def _run(self, rows: list[OutboxMessage], start: int) -> int:
        """How many rows from `start` go out as one message (more than one only where the channel merges
        notices due together: see bot/outbox/merge.py)."""
        if not getattr(self.channels.get(rows[start].channel), "merges_notices", False):
            return 1
        return merge.run_length(rows, start, self.clock.now())

    async def _record_sent(self, sent: Sent) -> None:
        async with self.db.transaction() as session:
            await self._record_in(session, sent)

    async def _pending_or_release(self, lane: Lane, sent: Sent, limit: int = PREFETCH) -> list[OutboxMessage]:
        """Record rows just `sent`; then the chat's oldest pending rows if the first is due, else the lane is
        released (one transaction).

        While we hold the lane nobody else sends or changes these rows.
        """
        async with self.db.transaction() as session:
            # Mostly the chat has nothing more: the lane is released on that condition, one statement; on
            # PostgreSQL the same statement records the last row sent.
            if len(sent) == 1 and session.get_bind().dialect.name == "postgresql":
                row, message_id = sent[0]
                params = self.outcomes.finish_params(row, "sent", message_id)
                recorded, released = await lanes.finish_and_release_if_idle(
                    session, lane, self.owner, self.fast, params
                )
                if not recorded:
                    sent_twice(row)
            else:
                await self._record_in(session, sent)
                released = await lanes.release_if_idle(session, lane, self.owner, self.fast)
            if released:
                return []
            rows = await lanes.pending(session, lane, self.fast, limit)
            if rows and rows[0].next_attempt_at <= self.clock.now():
                return rows
            await lanes.release(session, lane, self.owner)
            return []

    async def _deliver(
        self, row: OutboxMessage, lane: Lane, unrecorded: Sent, also: list[OutboxMessage] | None = None
    ) -> str:
        """Deliver one row (with `also`, the rows merged into its message); returns sent, skipped, failed
        (given up), retry, paused or lost (the lease). A failure is the first row's; the others wait.

        A sent row is appended to `unrecorded`; rows already there are recorded by the next commit."""
        batch = [row, *(also or [])]
        if inflight.in_doubt(row):
            # Handed to the channel by a worker that stopped before it heard back: it may have arrived.
            await self.outcomes.finish(
                row, "in_doubt", error="in flight when its worker stopped; not sent again"
            )
            log.warning("outbox row %s was in flight when its worker stopped; not sent again", row.id)
            return "skipped"
        if len(batch) > 1:
            message = merge.merged(batch)
        else:
            message = Outbound.from_row(row.channel, row.chat_id, row.payload, row.ref, row.edit_ref)
        target: str | None = None
        if row.edit_ref:
            target = lane.targets.get(row.edit_ref)
            if target is None:
                async with self.db.transaction() as session:
                    target = await Outbox(session).delivered_id(row.channel, row.chat_id, row.edit_ref)
            if target is None:
                await self.outcomes.finish(row, "skipped", error="nothing to edit")
                return "skipped"
        marking = batch if inflight.at_most_once(row) else []

        async def record_before(session: AsyncSession, at: datetime) -> None:
            # The rows sent before are recorded in the reservation's commit.
            await self._record_in(session, unrecorded)

        limits = self.limits.get(row.channel)
        if limits is not None and limits.active and row.kind != "answer":
            at = await self.reservations.reserve(lane, limits, limits.cost(message), record_before)
            if at is None:
                return "lost"
            unrecorded.clear()
            wait = seconds_until(at, self.wall())
            if wait > 0:
                await self.sleep(wait)
        if not self._holds(lane):
            return "lost"

        async def ready() -> None:
            # Committed as late as can be, once the channel is about to write the request (past its own
            # queue): a worker killed in between loses the message, one killed after it shows it once.
            if marking or unrecorded:
                async with self.db.transaction() as session:
                    await self._record_in(session, unrecorded)
                    await inflight.mark(session, marking, self.wall())
                unrecorded.clear()

        delivery = self.channels[row.channel]
        started = time.monotonic()
        # Its own task: a worker told to stop lets a request already out finish and records it, rather
        # than leave the row in doubt for good.
        if getattr(delivery, "calls_ready", False):
            call = asyncio.ensure_future(delivery.deliver(message, target, ready=ready))  # type: ignore[call-arg]
        else:
            call = asyncio.ensure_future(inflight.after(ready, lambda: delivery.deliver(message, target)))
        try:
            message_id = await asyncio.shield(call)
        except asyncio.CancelledError:
            message_id, error = await inflight.finish_call(call)
            if error is None:
                unrecorded.extend((each, message_id) for each in batch)
            elif not error.in_doubt and marking:
                async with self.db.transaction() as session:
                    await inflight.unmark(session, marking)
            raise
        except DeliveryError as exc:
            return await self.outcomes.failed(row, lane, exc)
        except Exception as exc:
            log.exception("delivery of outbox row %s crashed", row.id)
            return await self.outcomes.failed(row, lane, DeliveryError(type(exc).__name__))
        finally:
            metrics.DELIVERY_SECONDS.labels(row.channel).observe(time.monotonic() - started)
        self.outcomes.worked(row.channel)
        for each in batch:
            if each.ref and message_id:
                lane.targets[each.ref] = message_id
            unrecorded.append((each, message_id))
            metrics.SENT.labels(each.channel, each.kind).inc()
        return "sent"

    async def _record_in(self, session: AsyncSession, sent: Sent) -> None:
        for row, message_id in sent:
            await self.outcomes.finish(row, "sent", message_id=message_id, session=session)

    async def pending_count(self) -> int:
        """Rows not yet finished (for tests and health checks)."""
        async with self.db.transaction() as session:
            stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            return int((await session.execute(stmt)).scalar_one())

    async def channel_state(self, channel: str) -> RateLimit:
        """The channel's shared limiter row (for tests)."""
        async with self.db.transaction() as session:
            return await channel_row(session, channel, lock=False)
