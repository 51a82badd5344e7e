"""The timer sweep: fire what is due, each in the same transaction as the messages it causes."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dispatch import escalation, timers
from dispatch.notices import Notices
from handlers.context import Services
from handlers.outbox import write_outbox
from handlers.routes import build_routes
from handlers.templates.render import render
from handlers.templates.view import Template
from storage.db import Database

log = logging.getLogger(__name__)


async def sweep(
    db: Database, services: Services, limit: int = 100, templates: Mapping[str, Template] | None = None
) -> int:
    """Fire up to `limit` due timers; return how many fired (call again while it returns `limit`)."""
    templates = templates if templates is not None else build_routes().templates
    now = services.clock.now()
    async with db.transaction() as session:
        due = await timers.claim_due(session, now, limit)
        if not due:
            return 0
        notices = Notices()
        for timer in due:
            outcome = await escalation.fire(session, services.site, timer, now, notices)
            log.info("timer %s (%s) for ticket %s: %s", timer.id, timer.kind, timer.ticket_id, outcome)
        await write_outbox(session, await render(session, services, notices, templates), now)
    return len(due)


async def sweep_all(
    db: Database, services: Services, limit: int = 100, templates: Mapping[str, Template] | None = None
) -> int:
    """Fire everything due now, in batches."""
    templates = templates if templates is not None else build_routes().templates
    total = 0
    while True:
        fired = await sweep(db, services, limit, templates)
        total += fired
        if fired < limit:
            return total
