"""Finding the open ticket a new report is the same fault as: same place, same category, recent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status
from dispatch.planned.rules import SOURCE as PLAN_SOURCE
from storage.models import Ticket

# Reports of one outage come within hours; a fault of the same kind next day is a new fault.
WINDOW = timedelta(hours=6)
# The working ticket is still being worked (or waits for a technician); linked reports are not candidates.
WORKING = [
    str(s)
    for s in (
        Status.SUBMITTED,
        Status.OFFERED,
        Status.ASSIGNED,
        Status.SCHEDULED,
        Status.EN_ROUTE,
        Status.ON_SITE,
        Status.ON_HOLD,
        Status.IN_PROGRESS,
    )
]


@dataclass(frozen=True)
class Match:
    """The ticket a report would join and how many have reported it so far (its own reporter included)."""

    ticket: Ticket
    reports: int


@dataclass(frozen=True)
class Place:
    """Where a new report is: a building, or the community's public areas."""

    community: str
    category: str
    building: str | None
    public: bool


async def find(session: AsyncSession, place: Place, reporter_id: int, now: datetime) -> Match | None:
    """The oldest matching open repair filed within the window by someone else, or None."""
    stmt = select(Ticket).where(
        Ticket.kind == "repair",
        Ticket.community == place.community,
        Ticket.category == place.category,
        Ticket.status.in_(WORKING),
        Ticket.created_at >= now - WINDOW,
        Ticket.resident_id != reporter_id,
        # Planned maintenance is not a fault anyone reported; a resident's report stays its own.
        Ticket.source != PLAN_SOURCE,
    )
    if place.public:
        stmt = stmt.where(Ticket.scope == "public")
    elif place.building:
        stmt = stmt.where(Ticket.building == place.building)
    else:
        return None
    ticket = (await session.execute(stmt.order_by(Ticket.created_at, Ticket.id).limit(1))).scalars().first()
    if ticket is None:
        return None
    return Match(ticket, await reports(session, ticket))


async def reports(session: AsyncSession, ticket: Ticket) -> int:
    """How many tickets report the fault a working ticket is for (itself and those linked to it)."""
    if ticket.incident_id is None:
        return 1
    stmt = select(func.count()).where(Ticket.incident_id == ticket.incident_id)
    return int((await session.execute(stmt)).scalar_one())


async def serialize(session: AsyncSession, place: Place) -> None:
    """Let one report of a place and category at a time look for a match and file.

    Two residents confirming the same outage in the same instant on two workers would otherwise both find
    nothing and both file; on PostgreSQL a transaction lock per place makes the second wait and join.
    SQLite takes one writer at a time anyway.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = f"{place.community}|{place.building or '*public*'}|{place.category}"
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
