"""The figures' reads: each ticket of a period with the first time it reached each step, from the event log.

One query gives every ticket filed in the period with its attributes and, aggregated from `ticket_events`,
when it was first accepted, contacted, on site, completed, judged by the resident and followed up, and how
many times it went to rework or was handed back. Nothing else is kept for the figures: the event log is the
only bookkeeping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.figures.periods import Period
from dispatch.figures.scope import Scope
from dispatch.site import Site
from storage.models import Person, Ticket, TicketEvent

# Events that count as the technician having reached the resident (T2), besides arriving.
CONTACT_KINDS = ("contacted", "appointment_set", "en_route")
# The resident's answer to a completion (or customer service's, for them).
JUDGED = ("confirmed", "rework", "followed_up")
FOLLOWED = ("followed_up", "closed")
_STEPS = ("assigned", "on_site", "completed", "rework", "confirmed", "followed_up", "closed")


@dataclass(slots=True)
class Facts:
    """One ticket as the figures see it: what it is, and when it first reached each step (None: not yet)."""

    id: int
    number: str
    community: str
    area: str
    building: str | None
    unit: str | None
    room: str | None
    scope: str
    category: str
    urgency: str
    source: str
    status: str
    technician_id: int | None
    created_at: datetime
    rating: int | None
    comment: str
    fixed: bool | None
    fee_cents: int
    assigned: datetime | None
    contacted: datetime | None
    on_site: datetime | None
    completed: datetime | None
    judged: datetime | None
    followed: datetime | None
    reworks: int
    handbacks: int


def window(site: Site, scope: Scope, period: Period) -> ColumnElement[bool]:
    """Tickets of the scope filed in the period, each community's days in its own time zone."""
    codes = [scope.community] if scope.community else [c.code for c in site.communities]
    zones: dict[Any, list[str]] = defaultdict(list)
    for code in codes:
        community = site.community(code) or site.default
        zones[community.timezone].append(code)
    if len(zones) == 1:
        # One zone (the usual deployment): a plain range, so the created_at indexes serve it.
        start, end = period.bounds(next(iter(zones)))
        return and_(scope.where(), Ticket.created_at >= start, Ticket.created_at < end)
    ranges = []
    for tz, members in zones.items():
        start, end = period.bounds(tz)
        ranges.append(
            and_(Ticket.community.in_(members), Ticket.created_at >= start, Ticket.created_at < end)
        )
    return and_(scope.where(), or_(*ranges))


def _first(condition: ColumnElement[bool]) -> Any:
    return func.min(case((condition, TicketEvent.at)))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.community,
    Ticket.area,
    Ticket.building,
    Ticket.unit,
    Ticket.room,
    Ticket.scope,
    Ticket.category,
    Ticket.urgency,
    Ticket.source,
    Ticket.status,
    Ticket.technician_id,
    Ticket.created_at,
    Ticket.rating,
    Ticket.comment,
    Ticket.fixed,
    Ticket.fee_cents,
)
_STEPS_OF = (
    _first(TicketEvent.to_status == "assigned"),
    _first(or_(TicketEvent.kind.in_(CONTACT_KINDS), TicketEvent.to_status == "on_site")),
    _first(TicketEvent.to_status == "on_site"),
    _first(TicketEvent.to_status == "completed"),
    _first(TicketEvent.to_status.in_(JUDGED)),
    _first(TicketEvent.to_status.in_(FOLLOWED)),
    _count(TicketEvent.to_status == "rework"),
    _count(TicketEvent.kind == "handed_back"),
)
# Only the events the figures read are joined: a ticket's log also holds escalations, notes, photos ...
_WANTED = or_(TicketEvent.to_status.in_(_STEPS), TicketEvent.kind.in_((*CONTACT_KINDS, "handed_back")))


async def tickets(session: AsyncSession, site: Site, scope: Scope, period: Period) -> list[Facts]:
    """Every ticket of the scope filed in the period, with its steps."""
    where = window(site, scope, period)
    # Two reads rather than one join: grouping a join by ticket made SQLite walk every ticket in id order
    # instead of the period's through ix_tickets_created (bench figure 8).
    base = (await session.execute(select(*_COLUMNS).where(where).order_by(Ticket.id))).tuples().all()
    if not base:
        return []
    stmt = (
        select(TicketEvent.ticket_id, *_STEPS_OF)
        .where(TicketEvent.ticket_id.in_(select(Ticket.id).where(where)), _WANTED)
        .group_by(TicketEvent.ticket_id)
    )
    steps = {row[0]: tuple(row[1:]) for row in (await session.execute(stmt)).tuples()}
    return [Facts(*cast(tuple[Any, ...], row), *steps.get(row[0], _NO_STEPS)) for row in base]


_NO_STEPS = (None, None, None, None, None, None, 0, 0)


async def handbacks(session: AsyncSession, site: Site, scope: Scope, period: Period) -> dict[int, int]:
    """Hand-backs per technician (whoever handed the job back) on the period's tickets."""
    stmt = (
        select(TicketEvent.actor_id, func.count())
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(window(site, scope, period), TicketEvent.kind == "handed_back")
        .group_by(TicketEvent.actor_id)
    )
    return {actor: int(n) for actor, n in (await session.execute(stmt)).tuples() if actor is not None}


async def repeats(
    session: AsyncSession, site: Site, scope: Scope, period: Period, least: int
) -> list[tuple[str, str | None, str | None, str | None, str, int, datetime]]:
    """Places (a flat, or a building's entrance for public areas) with `least` or more tickets of one
    category in the period: community, building, unit, room, category, how many, the latest."""
    place = (Ticket.community, Ticket.building, Ticket.unit, Ticket.room, Ticket.category)
    stmt = (
        select(*place, func.count(), func.max(Ticket.created_at))
        .where(window(site, scope, period), Ticket.building.is_not(None), Ticket.status != "rejected")
        .group_by(*place)
        .having(func.count() >= least)
        .order_by(func.count().desc(), func.max(Ticket.created_at).desc())
        .limit(50)
    )
    return [tuple(row) for row in (await session.execute(stmt)).tuples()]  # type: ignore[misc]


async def names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """People's names by id."""
    if not ids:
        return {}
    stmt = select(Person.id, Person.name).where(Person.id.in_(sorted(set(ids))))
    return {pid: name for pid, name in (await session.execute(stmt)).tuples()}


async def quiet(
    session: AsyncSession, site: Site, scope: Scope, period: Period, open_statuses: Sequence[str]
) -> bool:
    """Nothing to report: no ticket of the scope filed in the period, and none open now."""
    filed = select(Ticket.id).where(window(site, scope, period)).limit(1)
    if (await session.execute(filed)).first() is not None:
        return False
    still_open = select(Ticket.id).where(scope.where(), Ticket.status.in_(sorted(open_statuses))).limit(1)
    return (await session.execute(still_open)).first() is None
