"""Who may take a ticket, best first: on duty, skilled, serving the area, under today's capacity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import HELD
from dispatch.site import Community
from dispatch.staff import Role, in_community
from storage.models import Person, Ticket

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """A technician with the figures that rank them."""

    person: Person
    open_jobs: int
    jobs_today: int
    last_assigned_at: datetime | None

    @property
    def full(self) -> bool:
        """At or over today's capacity."""
        return self.jobs_today >= self.person.capacity


def qualifies(person: Person, community: Community, ticket: Ticket) -> str:
    """ "" when the technician may take the ticket, else why not (off_duty, skill, area, not_technician)."""
    if person.role != Role.TECHNICIAN or not person.active:
        return "not_technician"
    if person.community and person.community != community.code:
        return "area"
    if not person.on_duty:
        return "off_duty"
    category = community.category(ticket.category)
    if category is None or category.skill not in person.skills:
        return "skill"
    if person.areas and ticket.area and ticket.area not in person.areas:
        return "area"
    return ""


def local_midnight(now: datetime, community: Community) -> datetime:
    """Start of the community's current day, as an aware datetime."""
    return datetime.combine(now.astimezone(community.timezone).date(), time(0), community.timezone)


async def rank(
    session: AsyncSession, community: Community, ticket: Ticket, now: datetime, *, include_full: bool = False
) -> list[Candidate]:
    """Qualified technicians ranked by open workload, then by who has waited longest for a job."""
    technicians = (
        (
            await session.execute(
                select(Person).where(
                    Person.role == str(Role.TECHNICIAN), Person.active.is_(True), in_community(community.code)
                )
            )
        )
        .scalars()
        .all()
    )
    people = [p for p in technicians if not qualifies(p, community, ticket)]
    if not people:
        return []
    loads = await workloads(session, [p.id for p in people], local_midnight(now, community))
    return order(people, loads, include_full=include_full)


@dataclass(frozen=True)
class Workload:
    """What ranks a technician: jobs in hand, jobs taken since local midnight, the last one taken."""

    open_jobs: int = 0
    jobs_today: int = 0
    last_assigned_at: datetime | None = None


async def workloads(session: AsyncSession, ids: Sequence[int], midnight: datetime) -> dict[int, Workload]:
    """The workloads of these technicians, in one query however many."""
    # Per technician rather than GROUP BY over all of them: each figure reads a few entries of the
    # (technician_id, status) or (technician_id, assigned_at) index, where grouping read every job a
    # technician ever took (years of them); and one round trip instead of three.
    held = [str(s) for s in HELD]
    open_jobs = _per_technician(func.count(), Ticket.status.in_(held))
    today = _per_technician(func.count(), Ticket.assigned_at >= midnight)
    last = _per_technician(func.max(Ticket.assigned_at))
    rows = await session.execute(select(Person.id, open_jobs, today, last).where(Person.id.in_(ids)))
    return {row[0]: Workload(row[1] or 0, row[2] or 0, row[3]) for row in rows}


def _per_technician(figure: ColumnElement[Any], *where: ColumnElement[bool]) -> ScalarSelect[Any]:
    return select(figure).where(Ticket.technician_id == Person.id, *where).scalar_subquery()


def order(people: Iterable[Person], loads: Mapping[int, Workload], *, include_full: bool) -> list[Candidate]:
    """Candidates best first (fewest open jobs, then longest wait), the full ones left out unless asked."""
    ranked = []
    for person in people:
        load = loads.get(person.id, Workload())
        ranked.append(Candidate(person, load.open_jobs, load.jobs_today, load.last_assigned_at))
    if not include_full:
        ranked = [c for c in ranked if not c.full]
    ranked.sort(key=lambda c: (c.open_jobs, c.last_assigned_at or EPOCH, c.person.id))
    return ranked
