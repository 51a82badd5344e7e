"""The timer sweep: fire what is due, each in the same transaction as the messages it causes."""

from __future__ import annotations

import logging

from dispatch import escalation, timers
from dispatch.notices import Notices
from handlers.context import Services
from handlers.outbox import write_outbox
from handlers.routes import Routes, build_routes
from handlers.templates.render import render
from storage.db import Database

log = logging.getLogger(__name__)


async def sweep(db: Database, services: Services, limit: int = 100, routes: Routes | None = None) -> int:
    """Fire up to `limit` due timers; return how many fired (call again while it returns `limit`).

    Ticket deadlines are acted on by dispatch/escalation.py; scheduled jobs (timers with a key and no
    ticket, dispatch/schedules.py) by the services' calendar.
    """
    routes = routes or build_routes()
    now = services.clock.now()
    async with db.transaction() as session:
        due = await timers.claim_due(session, now, limit)
        if not due:
            return 0
        notices = Notices()
        for timer in due:
            outcome = await escalation.fire(session, services.site, timer, now, notices, services.calendar)
            log.info("timer %s (%s) for %s: %s", timer.id, timer.kind, timer.ticket_id or timer.key, outcome)
        out = await render(session, services, notices, routes.templates, routes.ticketless)
        await write_outbox(session, out, now)
    return len(due)


async def sweep_all(db: Database, services: Services, limit: int = 100, routes: Routes | None = None) -> int:
    """Fire everything due now, in batches."""
    routes = routes or build_routes()
    total = 0
    while True:
        fired = await sweep(db, services, limit, routes)
        total += fired
        if fired < limit:
            return total
