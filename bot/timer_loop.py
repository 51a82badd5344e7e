"""One APScheduler interval job sweeps the timer rows; nothing an SLA needs lives only in memory.

Every worker runs the sweep; a due timer is claimed with FOR UPDATE SKIP LOCKED and marked fired in the
transaction that acts on it (dispatch/timers.claim_due), so each fires once across workers. The same tick
handles inbox events a stopped worker left (bot/inbox.py) and, on SQLite, checkpoints the write-ahead log
(Database.checkpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.inbox import Inbox
from bot.outbox.sender import OutboxSender
from handlers.context import Services
from handlers.timer_sweep import sweep_all
from storage.db import Database

log = logging.getLogger(__name__)


class TimerLoop:
    """Runs the sweep every `interval` seconds and wakes the sender when something fired."""

    def __init__(
        self,
        db: Database,
        services: Services,
        sender: OutboxSender,
        interval: float = 1.0,
        *,
        inbox: Inbox | None = None,
    ) -> None:
        self.db = db
        self.inbox = inbox
        self.services = services
        self.sender = sender
        self.interval = interval
        self.last_run_at: datetime | None = None
        self.scheduler = AsyncIOScheduler()
        self._idle = asyncio.Event()  # set while no sweep runs
        self._idle.set()

    async def tick(self) -> int:
        """One sweep (also what tests call)."""
        self.last_run_at = self.services.clock.now()
        self._idle.clear()
        try:
            if self.inbox is not None:
                await self.inbox.sweep()
            fired = await sweep_all(self.db, self.services)
        except Exception:
            log.exception("timer sweep failed")
            return 0
        finally:
            self._idle.set()
        if fired:
            from bot.ops import metrics

            metrics.TIMERS_FIRED.inc(fired)
            self.sender.wake()
        try:
            await self.db.checkpoint()
        except Exception:  # the log grows meanwhile; a commit checkpoints it past storage.db.WAL_PAGES
            log.exception("checkpoint of the database's log failed")
        return fired

    def start(self) -> None:
        """Schedule the sweep; due timers left over from downtime fire on the first tick."""
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.scheduler.timezone),
            id="timer-sweep",
        )
        self.scheduler.start()

    def stop(self) -> None:
        """Stop scheduling."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def close(self) -> None:
        """Stop scheduling after the sweep in progress (if any) has finished: shutting the scheduler down
        would cancel it half-way, which is harmless (its transaction rolls back) but logged as an error."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):  # not wait_for: see bot/wechat/client.py
                await self._idle.wait()
        self.stop()
