"""What becomes of an outbox row once a channel answered: recorded as sent, retried with backoff, paused for
a 429 or an outage, or given up (and for an important message, the supervisor told)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops import metrics
from bot.outbox import lanes
from bot.outbox.channel import MAX_ATTEMPTS, DeliveryError, backoff
from bot.outbox.lanes import Lane
from bot.outbox.ratelimit import lane_row, pause
from bot.outbox.undelivered import tell_supervisor
from dispatch.clock import Clock
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Outbox

log = logging.getLogger(__name__)
# A network failure counts against a row only when the channel was seen working this recently.
HEALTHY_WINDOW = 10.0


class Outcomes:
    """Records how each delivery ended; remembers per channel when it last worked and how long it is down."""

    def __init__(
        self, db: Database, clock: Clock, wall: Callable[[], datetime], wake: Callable[[], None]
    ) -> None:
        self.db = db
        self.clock = clock
        self.wall = wall
        self.wake = wake
        self._last_ok: dict[str, float] = {}
        self._outages: dict[str, int] = {}

    def worked(self, channel: str) -> None:
        """The channel just took a message: it is up."""
        self._last_ok[channel] = time.monotonic()
        self._outages.pop(channel, None)

    async def finish(
        self,
        row: OutboxMessage,
        status: str,
        message_id: str | None = None,
        error: str = "",
        session: AsyncSession | None = None,
    ) -> None:
        stmt = lanes.finish_stmt()
        params = self.finish_params(row, status, message_id, error)
        if session is not None:
            result = await session.execute(stmt, params)
        else:
            async with self.db.transaction() as own:
                result = await own.execute(stmt, params)
        if not result.rowcount:  # type: ignore[attr-defined]
            sent_twice(row)

    def finish_params(
        self, row: OutboxMessage, status: str, message_id: str | None = None, error: str = ""
    ) -> dict[str, object]:
        return {
            "b_id": row.id,
            "b_status": status,
            "b_sent_at": self.clock.now(),
            "b_message_id": message_id,
            "b_attempts": row.attempts + 1,
            "b_error": error[:300],
        }

    async def failed(self, row: OutboxMessage, lane: Lane, exc: DeliveryError) -> str:
        channel = row.channel
        if exc.retry_after is not None:
            until = self.wall() + timedelta(seconds=max(0.0, exc.retry_after))
            async with self.db.transaction() as session:
                await pause(session, channel, row.chat_id, until)
                await Outbox(session).mark(row.id, error=str(exc)[:300], sending_at=None)
            metrics.DELIVERY_FAILURES.labels(channel, "rate_limited").inc()
            log.warning("%s asked to wait %.1fs (chat %s): %s", channel, exc.retry_after, row.chat_id, exc)
            return "paused"
        if exc.in_doubt:
            return await self._in_doubt(row, exc)
        if exc.outage and not self._recently_ok(channel):
            level = self._outages.get(channel, 0)
            self._outages[channel] = level + 1
            delay = min(15.0, 0.5 * 2**level) * random.uniform(0.8, 1.2)
            async with self.db.transaction() as session:
                await pause(session, channel, None, self.wall() + timedelta(seconds=delay))
                await Outbox(session).mark(row.id, error=str(exc)[:300], sending_at=None)
            metrics.DELIVERY_FAILURES.labels(channel, "outage").inc()
            log.warning("%s unreachable, pausing it %.1fs: %s", channel, delay, exc)
            return "paused"
        attempts = row.attempts + 1
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            metrics.DELIVERY_FAILURES.labels(channel, "permanent").inc()
            log.warning("outbox row %s to %s gave up after %d attempts: %s", row.id, channel, attempts, exc)
            await self.give_up(row, str(exc))
            return "failed"
        delay = backoff(attempts)
        async with self.db.transaction() as session:
            await Outbox(
                session
            ).mark(
                row.id,
                sending_at=None,  # the channel answered: it did not deliver, so the retry is no copy
                attempts=attempts,
                next_attempt_at=self.clock.now() + timedelta(seconds=delay),
                error=str(exc)[:300],
            )
        metrics.DELIVERY_FAILURES.labels(channel, "retry").inc()
        log.info("outbox row %s will retry in %.1fs: %s", row.id, delay, exc)
        return "retry"

    async def _in_doubt(self, row: OutboxMessage, exc: DeliveryError) -> str:
        """The channel got the request but never answered: it may have delivered it, so the row is finished as
        `in_doubt`, not sent again (at most once where the channel cannot tell). The chat waits `settle`
        seconds, so that a late delivery still comes before its next message; the channel pauses as for an
        outage, so a stretch of slow answers puts only the calls already out in doubt."""
        channel = row.channel
        level = self._outages.get(channel, 0)
        self._outages[channel] = level + 1
        wall = self.wall()
        chat_until = wall + timedelta(seconds=max(exc.settle, 0.0))
        channel_until = wall + timedelta(seconds=min(15.0, 0.5 * 2**level) * random.uniform(0.8, 1.2))
        async with self.db.transaction() as session:
            await pause(session, channel, None, channel_until)  # the channel's row first: the lock order
            lane = await lane_row(session, channel, row.chat_id)
            lane.paused_until = max(chat_until, channel_until, lane.paused_until or wall)
            await self.finish(row, "in_doubt", error=f"in doubt, not sent again: {exc}", session=session)
        metrics.DELIVERY_FAILURES.labels(channel, "in_doubt").inc()
        log.warning("outbox row %s to %s got no answer; not sent again: %s", row.id, channel, exc)
        return "paused"

    def _recently_ok(self, channel: str) -> bool:
        last = self._last_ok.get(channel)
        return last is not None and time.monotonic() - last < HEALTHY_WINDOW

    async def give_up(self, row: OutboxMessage, error: str) -> None:
        """Record the failure; for an important message, log it on the ticket and tell the supervisor."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            await self.finish(row, "failed", error=error, session=session)
            if row.important:
                await tell_supervisor(session, row, error, now)
        self.wake()


def sent_twice(row: OutboxMessage) -> None:
    """Another worker finished this row first: it went out twice, the case Telegram can't tell apart."""
    log.warning("outbox row %s was already finished by another worker (sent twice)", row.id)
