"""The timer sweep: fire what is due, each in the same transaction as the messages it causes.

A batch of due timers is claimed by one statement and fired in one transaction, with what the timers read
(tickets, staff, groups, workloads) loaded once for the batch. A timer whose firing raises would take the
whole batch down with it, every tick; so when a batch fails the sweep fires it again one timer at a time,
each in a savepoint, and marks the one that fails "failed" (logged) so that it neither blocks the others nor
fires half-done. A transient error (deadlock, lost connection) rolls everything back, to be tried again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import escalation, timers
from dispatch.notices import Notices
from dispatch.roster import Roster
from handlers.context import Services
from handlers.outbox import write_outbox
from handlers.routes import Routes, build_routes
from handlers.templates.render import render
from storage.db import Database, is_transient
from storage.models import Timer

log = logging.getLogger(__name__)
FAILED = "failed"


async def sweep(db: Database, services: Services, limit: int = 100, routes: Routes | None = None) -> int:
    """Fire up to `limit` due timers; return how many fired (call again while it returns `limit`).

    Ticket deadlines are acted on by dispatch/escalation.py; scheduled jobs (timers with a key and no
    ticket, dispatch/schedules.py) by the services' calendar.
    """
    routes = routes or build_routes()
    try:
        return await _batch(db, services, limit, routes, one_by_one=False)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("a due timer failed; firing the batch one timer at a time")
    return await _batch(db, services, limit, routes, one_by_one=True)


async def sweep_all(db: Database, services: Services, limit: int = 100, routes: Routes | None = None) -> int:
    """Fire everything due now, in batches."""
    routes = routes or build_routes()
    total = 0
    while True:
        fired = await sweep(db, services, limit, routes)
        total += fired
        if fired < limit:
            return total


async def _batch(db: Database, services: Services, limit: int, routes: Routes, *, one_by_one: bool) -> int:
    now = services.clock.now()
    async with db.transaction() as session:
        due = await timers.claim_due(session, now, limit)
        if not due:
            return 0
        roster = await escalation.roster(session, services.site, due, now)
        if one_by_one:
            for timer in due:
                await _alone(session, services, routes, roster, timer, now)
            return len(due)
        notices = Notices()
        for timer in due:
            await _fire(session, services, roster, timer, now, notices)
        await _send(session, services, routes, notices, now)
    return len(due)


async def _alone(
    session: AsyncSession, services: Services, routes: Routes, roster: Roster, timer: Timer, now: datetime
) -> None:
    """Fire one timer and write its messages in a savepoint; if it raises, only it is lost (marked failed)."""
    # Read before the savepoint: after its rollback the row's attributes may be expired, and loading them
    # again here would be I/O outside the session's greenlet.
    name = f"timer {timer.id} ({timer.kind}) for {_what(timer)}"
    try:
        async with session.begin_nested():
            notices = Notices()
            await _fire(session, services, roster, timer, now, notices)
            await _send(session, services, routes, notices, now)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("%s failed; marked %s", name, FAILED)
        timer.status = FAILED


async def _fire(
    session: AsyncSession, services: Services, roster: Roster, timer: Timer, now: datetime, notices: Notices
) -> None:
    outcome = await escalation.fire(session, services.site, timer, now, notices, services.calendar, roster)
    log.info("timer %s (%s) for %s: %s", timer.id, timer.kind, _what(timer), outcome)


async def _send(
    session: AsyncSession, services: Services, routes: Routes, notices: Notices, now: datetime
) -> None:
    out = await render(session, services, notices, routes.templates, routes.ticketless)
    await write_outbox(session, out, now)


def _what(timer: Timer) -> object:
    return timer.ticket_id or timer.key
