"""One chat's turn in the outbox: its due rows delivered in order while this worker holds its lane.

The sender (bot/outbox/sender.py) claims lanes and runs one drain per chat; a drain reads the chat's rows,
reserves each send under the limits, marks a new message in flight just before its call and records it after
(bot/outbox/inflight.py), and stops at the first row that must wait. See the sender's docstring for the
whole way of a row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.ops import metrics
from bot.outbox import inflight, lanes, merge
from bot.outbox.channel import Delivery, DeliveryError
from bot.outbox.inflight import Sent
from bot.outbox.lanes import PREFETCH, Lane
from bot.outbox.outcomes import Outcomes, sent_twice
from bot.outbox.ratelimit import ChannelLimits, Reservations, seconds_until
from dispatch.clock import Clock
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Outbox

log = logging.getLogger(__name__)
# Seconds an edit with nothing behind it in its chat waits for the events being handled (see drain).
EDIT_PATIENCE = 0.5


class Host(Protocol):
    """What a drain needs of its sender (read each time: a test may change the wall clock or the name)."""

    db: Database
    clock: Clock
    channels: dict[str, Delivery]
    owner: str
    lease: float
    limits: dict[str, ChannelLimits]
    outcomes: Outcomes
    reservations: Reservations
    wall: Callable[[], datetime]
    sleep: Callable[[float], Awaitable[None]]
    # Waits while the worker's inbound events are being handled, at most the given seconds.
    patience: Callable[[float], Awaitable[None]]

    @property
    def fast(self) -> frozenset[str]:
        """Channels whose tap answers skip the chat lanes."""
        ...


class ChatDrain:
    """Delivers one chat's due rows at a time, for the sender that holds the chat's lane."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def _holds(self, lane: Lane) -> bool:
        """True while our lease is safely ahead of the clock (a margin for other workers' clocks)."""
        margin = min(5.0, self.host.lease / 4)
        return self.host.wall() + timedelta(seconds=margin) < lane.lease_until

    async def _extend(self, lane: Lane) -> bool:
        """Push our lease forward when half of it is used; False when another worker has the lane."""
        remaining = (lane.lease_until - self.host.wall()).total_seconds()
        if remaining > self.host.lease / 2:
            return True
        until = self.host.wall() + timedelta(seconds=self.host.lease)
        async with self.host.db.transaction() as session:
            still_ours = await lanes.extend(session, lane, self.host.owner, until)
        if not still_ours:
            log.warning("lost the lease of %s:%s", lane.channel, lane.chat_id)
            return False
        lane.lease_until = until
        return True

    async def _release(self, lane: Lane) -> None:
        try:
            async with self.host.db.transaction() as session:
                await lanes.release(session, lane, self.host.owner)
        except Exception:  # the lease simply runs out
            log.warning("could not release lane %s:%s", lane.channel, lane.chat_id, exc_info=True)

    async def drain(self, lane: Lane) -> int:
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
                    if row.next_attempt_at > self.host.clock.now() or not await self._extend(lane):
                        return finished
                    n = self._run(rows, i)
                    if row.edit_ref and i + n == len(rows) and len(rows) < PREFETCH:
                        # An edit that nothing in its chat waits behind (a grabbed offer's other copies,
                        # a hundred at once) goes after the events being handled: the taps that made it
                        # are answered first.
                        await self.host.patience(EDIT_PATIENCE)
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
        if not getattr(self.host.channels.get(rows[start].channel), "merges_notices", False):
            return 1
        return merge.run_length(rows, start, self.host.clock.now())

    async def _record_sent(self, sent: Sent) -> None:
        async with self.host.db.transaction() as session:
            await self._record_in(session, sent)

    async def _pending_or_release(self, lane: Lane, sent: Sent, limit: int = PREFETCH) -> list[OutboxMessage]:
        """Record rows just `sent`; then the chat's oldest pending rows if the first is due, else the lane is
        released (one transaction, or on PostgreSQL one statement when the chat has nothing more).

        While we hold the lane nobody else sends or changes these rows.
        """
        alone = len(sent) == 1 and not self.host.db.is_sqlite
        uncertain = False
        if alone:
            # Mostly the chat has nothing more: on PostgreSQL one statement records the last row sent and
            # releases the lane on that condition, standing alone (no BEGIN and COMMIT round trips).
            row, message_id = sent[0]
            params = self.host.outcomes.finish_params(row, "sent", message_id)

            async def finish(connection: AsyncConnection, again: bool) -> tuple[bool, bool, bool]:
                recorded, released = await lanes.finish_and_release_if_idle(
                    connection, lane, self.host.owner, self.host.fast, params
                )
                return recorded, released, again

            recorded, released, again = await self.host.db.run_alone(finish)
            sent.clear()  # committed: not to be recorded again should the rest fail
            # Not recorded by a second try: the first had committed before its connection died, and may
            # have released the chat too.
            uncertain = not recorded and again
            if not recorded and not uncertain:
                sent_twice(row)
            if released:
                return []
        async with self.host.db.transaction() as session:
            if not alone:  # else recorded above, and the chat has more
                await self._record_in(session, sent)
                if await lanes.release_if_idle(session, lane, self.host.owner, self.host.fast):
                    return []
            elif uncertain and not await lanes.extend(session, lane, self.host.owner, lane.lease_until):
                return []  # released by the first try: another worker may hold the chat now
            rows = await lanes.pending(session, lane, self.host.fast, limit)
            if rows and rows[0].next_attempt_at <= self.host.clock.now():
                return rows
            await lanes.release(session, lane, self.host.owner)
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
            await self.host.outcomes.finish(
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
                async with self.host.db.transaction() as session:
                    target = await Outbox(session).delivered_id(row.channel, row.chat_id, row.edit_ref)
            if target is None:
                await self.host.outcomes.finish(row, "skipped", error="nothing to edit")
                return "skipped"
        marking = batch if inflight.at_most_once(row) else []

        async def record_before(session: AsyncSession, at: datetime) -> None:
            # The rows sent before are recorded in the reservation's commit.
            await self._record_in(session, unrecorded)

        limits = self.host.limits.get(row.channel)
        if limits is not None and limits.active and row.kind != "answer":
            at = await self.host.reservations.reserve(lane, limits, limits.cost(message), record_before)
            if at is None:
                return "lost"
            unrecorded.clear()
            wait = seconds_until(at, self.host.wall())
            if wait > 0:
                await self.host.sleep(wait)
        if not self._holds(lane):
            return "lost"

        async def ready() -> None:
            # Committed as late as can be, once the channel is about to write the request (past its own
            # queue): a worker killed in between loses the message, one killed after it shows it once.
            if unrecorded:
                async with self.host.db.transaction() as session:
                    await self._record_in(session, unrecorded)
                    await inflight.mark(session, marking, self.host.wall())
                unrecorded.clear()
            elif marking:
                # Mostly the case (one reply per chat at a time): the mark alone, a round trip.
                await inflight.mark_alone(self.host.db, marking, self.host.wall())

        delivery = self.host.channels[row.channel]
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
                async with self.host.db.transaction() as session:
                    await inflight.unmark(session, marking)
            raise
        except DeliveryError as exc:
            return await self.host.outcomes.failed(row, lane, exc)
        except Exception as exc:
            log.exception("delivery of outbox row %s crashed", row.id)
            return await self.host.outcomes.failed(row, lane, DeliveryError(type(exc).__name__))
        finally:
            metrics.DELIVERY_SECONDS.labels(row.channel).observe(time.monotonic() - started)
        self.host.outcomes.worked(row.channel)
        for each in batch:
            if each.ref and message_id:
                lane.targets[each.ref] = message_id
            unrecorded.append((each, message_id))
            metrics.SENT.labels(each.channel, each.kind).inc()
        return "sent"

    async def _record_in(self, session: AsyncSession, sent: Sent) -> None:
        for row, message_id in sent:
            await self.host.outcomes.finish(row, "sent", message_id=message_id, session=session)
