"""The figures' reads: each ticket of a period with the first time it reached each step, from the event log.

Two reads: the tickets filed in the period (with what they are), then, aggregated per ticket from
`ticket_events`, when each was first accepted, contacted, on site, completed, answered by the resident and
followed up, how many times it went to rework, and who handed it back. Nothing else is kept for the figures:
the event log is the only bookkeeping.

Times come back as seconds since the epoch (floats), computed by the database: a month of a big deployment
is tens of thousands of tickets, and turning each time into a Python datetime cost more than the query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Float, String, and_, case, func, or_, select, text
from sqlalchemy import cast as cast_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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
# Above this many ids per ticket in the id range, the events are read by range (one index scan) rather
# than by the list of ids: a month of the whole deployment is nearly every id in its range, one
# community's month is one id in a hundred.
_DENSE = 0.25
_CHUNK = 5_000


class epoch(FunctionElement[float]):
    """Seconds since 1970 of a stored time, as the database computes it."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are stored as naive UTC text (storage.models.UTCDateTime); 2440587.5 is 1970-01-01 in Julian days.
    # julianday() counts in milliseconds: rounded to them, a deadline met to the second compares as met.
    return f"round((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0, 3)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


@dataclass(slots=True)
class Facts:
    """One ticket as the figures see it: what it is, and when (epoch seconds) it first reached each step."""

    id: int
    number: str
    community: str
    building: str | None
    unit: str | None
    room: str | None
    category: str
    urgency: str
    source: str
    status: str
    technician_id: int | None
    created: float
    rating: int | None
    comment: str
    fee_cents: int
    kind: str = "repair"
    matter_kind: str = ""
    department: str = ""
    assigned: float | None = None
    contacted: float | None = None
    on_site: float | None = None
    completed: float | None = None
    judged: float | None = None
    followed: float | None = None
    reworks: int = 0
    handed_back_by: tuple[int, ...] = ()


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
    return epoch(func.min(case((condition, TicketEvent.at))))


_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.community,
    Ticket.building,
    Ticket.unit,
    Ticket.room,
    Ticket.category,
    Ticket.urgency,
    Ticket.source,
    Ticket.status,
    Ticket.technician_id,
    epoch(Ticket.created_at),
    Ticket.rating,
    Ticket.comment,
    Ticket.fee_cents,
    Ticket.kind,
    Ticket.matter_kind,
    Ticket.department,
)
_STEPS_OF = (
    _first(TicketEvent.to_status == "assigned"),
    _first(or_(TicketEvent.kind.in_(CONTACT_KINDS), TicketEvent.to_status == "on_site")),
    _first(TicketEvent.to_status == "on_site"),
    _first(TicketEvent.to_status == "completed"),
    _first(TicketEvent.to_status.in_(JUDGED)),
    _first(TicketEvent.to_status.in_(FOLLOWED)),
    func.sum(case((TicketEvent.to_status == "rework", 1), else_=0)),
    func.aggregate_strings(
        case((TicketEvent.kind == "handed_back", cast_(TicketEvent.actor_id, String))), ","
    ),
)
# Only the events the figures read: a ticket's log also holds offers, escalations, notes, photos ...
_WANTED = or_(TicketEvent.to_status.in_(_STEPS), TicketEvent.kind.in_((*CONTACT_KINDS, "handed_back")))


async def tickets(session: AsyncSession, site: Site, scope: Scope, period: Period) -> list[Facts]:
    """Every ticket of the scope filed in the period, with its steps, in the order filed."""
    return await _facts(session, window(site, scope, period))


async def open_tickets(session: AsyncSession, scope: Scope, statuses: Sequence[str]) -> list[Facts]:
    """Every ticket of the scope open now (whenever filed), with its steps."""
    return await _facts(session, and_(scope.where(), Ticket.status.in_(sorted(statuses))))


async def _facts(session: AsyncSession, where: ColumnElement[bool]) -> list[Facts]:
    if session.get_bind().dialect.name == "postgresql":
        # Compiling this one query costs PostgreSQL more than running it: no JIT in this transaction.
        await session.execute(text("SET LOCAL jit = off"))
    # Core rows, not the ORM's: tens of thousands of plain tuples, nothing to track.
    connection = await session.connection()
    # In the order filed: the created_at indexes give it without a sort.
    stmt = select(*_COLUMNS).where(where).order_by(Ticket.created_at, Ticket.id)
    facts = {row[0]: Facts(*cast(tuple[Any, ...], row)) for row in (await connection.execute(stmt))}
    if not facts:
        return []
    ids = sorted(facts)
    if len(ids) >= _DENSE * (ids[-1] - ids[0] + 1):
        chunks = [TicketEvent.ticket_id.between(ids[0], ids[-1])]
    else:
        chunks = [TicketEvent.ticket_id.in_(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]
    for chunk in chunks:
        stmt = select(TicketEvent.ticket_id, *_STEPS_OF).where(chunk, _WANTED).group_by(TicketEvent.ticket_id)
        for row in await session.execute(stmt):
            tid, steps = int(row[0]), tuple(row[1:])
            f = facts.get(tid)
            if f is None:  # in the id range, but filed outside the period or the scope
                continue
            f.assigned, f.contacted, f.on_site, f.completed, f.judged, f.followed = steps[:6]
            f.reworks = int(steps[6] or 0)
            f.handed_back_by = tuple(int(a) for a in steps[7].split(",")) if steps[7] else ()
    return list(facts.values())


async def repeats(
    session: AsyncSession, site: Site, scope: Scope, period: Period, least: int
) -> list[tuple[str, str | None, str | None, str | None, str, int, datetime]]:
    """Places (a flat, or a building's entrance for public areas) with `least` or more tickets of one
    category in the period: community, building, unit, room, category, how many, the latest."""
    place = (Ticket.community, Ticket.building, Ticket.unit, Ticket.room, Ticket.category)
    stmt = (
        select(*place, func.count(), func.max(Ticket.created_at))
        .where(window(site, scope, period), Ticket.building.is_not(None))
        .group_by(*place)
        .having(func.count() >= least)
        .order_by(func.count().desc(), func.max(Ticket.created_at).desc())
        .limit(50)
    )
    return [tuple(row) for row in (await session.execute(stmt))]  # type: ignore[misc]


async def names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """People's names by id."""
    if not ids:
        return {}
    stmt = select(Person.id, Person.name).where(Person.id.in_(sorted(set(ids))))
    return {pid: name for pid, name in (await session.execute(stmt))}


async def quiet(
    session: AsyncSession, site: Site, scope: Scope, period: Period, open_statuses: Sequence[str]
) -> bool:
    """Nothing to report: no ticket of the scope filed in the period, and none open now."""
    filed = select(Ticket.id).where(window(site, scope, period)).limit(1)
    if (await session.execute(filed)).first() is not None:
        return False
    still_open = select(Ticket.id).where(scope.where(), Ticket.status.in_(sorted(open_statuses))).limit(1)
    return (await session.execute(still_open)).first() is None
