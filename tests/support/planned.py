"""Helpers for planned-maintenance tests: the assets' calendar on a worker, and the planned tickets."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from dispatch import schedules
from dispatch.planned import calendar as planned
from handlers.context import Services
from storage.db import Database
from storage.models import Ticket
from tests.support.harness import Harness

LIFT_KEY = "plan.demo.lift-1-1@2026-12"
# The demo elevator is due on the 5th at 09:00 in Shanghai; the harness starts on Monday 2026-11-23.
LIFT_DUE = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def with_plans(h: Harness) -> None:
    """The harness's worker fires the demo assets' schedules."""
    h.services.calendar = planned.calendar(h.services.site)


async def start(db: Database, services: Services) -> None:
    """What every worker does at start-up (bot.app.App.start)."""
    async with db.transaction() as session:
        await schedules.prepare(session, services.calendar, services.clock.now())


async def planned_tickets(db: Database) -> list[Ticket]:
    """Tickets opened by a schedule, oldest first."""
    async with db.transaction() as session:
        stmt = select(Ticket).where(Ticket.plan_key.is_not(None)).order_by(Ticket.id)
        return list((await session.execute(stmt)).scalars().all())


async def children(db: Database, parent_id: int) -> list[Ticket]:
    """Repairs opened from a planned ticket."""
    async with db.transaction() as session:
        stmt = select(Ticket).where(Ticket.parent_id == parent_id).order_by(Ticket.id)
        return list((await session.execute(stmt)).scalars().all())
