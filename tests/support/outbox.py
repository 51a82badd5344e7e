"""The outbox's tests' shared parts: a recording delivery with delays and failures, queueing, draining."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import datetime

from bot.outbox.channel import DeliveryError
from bot.outbox.sender import OutboxSender
from handlers.messages import Outbound
from handlers.outbox import write_outbox
from storage.db import Database
from tests.support.harness import RecordingDelivery


class SlowDelivery(RecordingDelivery):
    """Records like a phone, with a delay per message and the wall time of each arrival."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[tuple[str, float]] = []
        self.errors_for: dict[str, list[DeliveryError]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.overlaps = 0

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        self.in_flight[message.chat_id] += 1
        if self.in_flight[message.chat_id] > 1:
            self.overlaps += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            errors = self.errors_for.get(message.chat_id)
            if errors:
                raise errors.pop(0)
            self.arrivals.append((message.chat_id, time.monotonic()))
            return await super().deliver(message, edit_target)
        finally:
            self.in_flight[message.chat_id] -= 1


async def queue(db: Database, now: datetime, messages: list[Outbound]) -> None:
    async with db.transaction() as session:
        await write_outbox(session, messages, now)


async def drain(*senders: OutboxSender, rounds: int = 200) -> None:
    for _ in range(rounds):
        counts = await asyncio.gather(*(s.run_once() for s in senders))
        if not any(counts) and not await senders[0].pending_count():
            return
        if not any(counts):
            await asyncio.sleep(0.05)
    raise AssertionError("outbox never drained")
