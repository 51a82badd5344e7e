"""The timer sweep: fire what is due, each in the same transaction as the messages it causes."""

from __future__ import annotations

import logging

from dispatch import escalation, timers
from dispatch.notices import Notices
from handlers import dispatching  # noqa: F401  (registers every template)
from handlers.context import Services
from handlers.notify import render
from handlers.router import write_outbox
from storage.db import Database

log = logging.getLogger(__name__)


async def sweep(db: Database, services: Services, limit: int = 100) -> int:
    """Fire up to `limit` due timers; return how many fired (call again while it returns `limit`)."""
    now = services.clock.now()
    async with db.transaction() as session:
        due = await timers.claim_due(session, now, limit)
        if not due:
            return 0
        notices = Notices()
        for timer in due:
            outcome = await escalation.fire(session, services.site, timer, now, notices)
            log.info("timer %s (%s) for ticket %s: %s", timer.id, timer.kind, timer.ticket_id, outcome)
        await write_outbox(session, await render(session, services, notices), now)
    return len(due)


async def sweep_all(db: Database, services: Services, limit: int = 100) -> int:
    """Fire everything due now, in batches."""
    total = 0
    while True:
        fired = await sweep(db, services, limit)
        total += fired
        if fired < limit:
            return total
