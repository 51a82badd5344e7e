"""The outbox sender: delivers committed outbound rows, in order per chat, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from dispatch.clock import Clock
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Outbox

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class DeliveryError(Exception):
    """A channel could not deliver; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Delivery(Protocol):
    """What a channel adapter offers the sender."""

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Send, edit or answer; return the channel's message id when there is one."""
        ...


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter, in seconds (1, 2, 4 ... capped at 5 minutes)."""
    base: float = min(300.0, 2.0 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


class OutboxSender:
    """Delivers pending outbox rows through the channel that reaches each chat."""

    def __init__(self, db: Database, channels: dict[str, Delivery], clock: Clock, batch: int = 500) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self._wake = asyncio.Event()
        # One pass at a time in this process, so two passes never pick the same row.
        self._pass = asyncio.Lock()
        self.last_run_at = clock.now()

    def wake(self) -> None:
        """Ask the running loop to look at the outbox now."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver what is due now; return how many rows were delivered."""
        async with self._pass:
            return await self._run_once()

    async def _run_once(self) -> int:
        now = self.clock.now()
        self.last_run_at = now
        async with self.db.transaction() as session:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.channel.in_(list(self.channels)))
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            rows = (await session.execute(stmt)).scalars().all()
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_chat[(row.channel, row.chat_id)].append(row)
        counts = await asyncio.gather(*(self._drain(chat_rows) for chat_rows in by_chat.values()))
        return sum(counts)

    async def _drain(self, rows: list[OutboxMessage]) -> int:
        """Deliver one chat's rows in order, stopping at the first one that must wait."""
        delivered = 0
        for row in rows:
            if row.next_attempt_at > self.clock.now():
                break
            if not await self._deliver(row):
                break
            delivered += 1
        return delivered

    async def _deliver(self, row: OutboxMessage) -> bool:
        """Deliver one row; True when the chat's next row may go."""
        message = Outbound.from_row(row.channel, row.chat_id, row.payload, row.ref, row.edit_ref)
        target: str | None = None
        if row.edit_ref:
            async with self.db.transaction() as session:
                target = await Outbox(session).delivered_id(row.channel, row.chat_id, row.edit_ref)
            if target is None:
                await self._finish(row, "skipped", error="nothing to edit")
                return True
        try:
            message_id = await self.channels[row.channel].deliver(message, target)
        except DeliveryError as exc:
            return await self._failed(row, exc)
        except Exception as exc:
            log.exception("delivery of outbox row %s crashed", row.id)
            return await self._failed(row, DeliveryError(type(exc).__name__))
        await self._finish(row, "sent", message_id=message_id)
        return True

    async def _finish(
        self, row: OutboxMessage, status: str, message_id: str | None = None, error: str = ""
    ) -> None:
        async with self.db.transaction() as session:
            await Outbox(session).mark(
                row.id,
                status=status,
                sent_at=self.clock.now(),
                channel_message_id=message_id,
                attempts=row.attempts + 1,
                error=error[:300],
            )

    async def _failed(self, row: OutboxMessage, exc: DeliveryError) -> bool:
        attempts = row.attempts + 1
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            log.warning("outbox row %s to %s gave up: %s", row.id, row.channel, exc)
            await self._finish(row, "failed", error=str(exc))
            return True
        delay = exc.retry_after if exc.retry_after is not None else backoff(attempts)
        async with self.db.transaction() as session:
            await Outbox(session).mark(
                row.id,
                attempts=attempts,
                next_attempt_at=self.clock.now() + timedelta(seconds=delay),
                error=str(exc)[:300],
            )
        log.info("outbox row %s will retry in %.1fs: %s", row.id, delay, exc)
        return False

    async def run_forever(self, interval: float = 1.0) -> None:
        """Deliver whenever woken, and at least every `interval` seconds."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
