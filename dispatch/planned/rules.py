"""What planned work is called and keyed: the schedule of each asset, its occurrences, its tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Ticket

SOURCE = "plan"  # tickets.source of planned work and of the repairs its checklists open
SCHEDULE_KIND = "plan"  # the timer kind of an asset's occurrences (dispatch/schedules.py)
PLAN_DUE = "plan_due"  # a planned ticket not done within its asset's `within`: the supervisors
SYSTEM_ROLE = "system"  # the person planned tickets are filed by: nobody to notify, rate or confirm
SYSTEM_NAME = "计划维护"


def schedule_name(community: str, asset: str) -> str:
    """The schedule of one asset: plan.<community>.<asset>."""
    return f"plan.{community}.{asset}"


def plan_key(community: str, asset: str, occurrence: str) -> str:
    """The unique key of the ticket one occurrence opens (tickets.plan_key)."""
    return f"{schedule_name(community, asset)}@{occurrence}"


def split_key(key: str) -> tuple[str, str, str]:
    """plan.<community>.<asset>@<occurrence> -> (community, asset, occurrence)."""
    name, _, occurrence = key.partition("@")
    _, community, asset = name.split(".", 2)
    return community, asset, occurrence


def residentless(ticket: Ticket) -> bool:
    """True for work the office started itself: no resident to tell, contact, ask to confirm or rate."""
    return ticket.source == SOURCE


def work_of(ticket: Ticket) -> str:
    """ "plan" for a planned ticket (answered by its checklist), "unattended" for a repair the office opened
    itself (no resident), "repair" for everything else."""
    if ticket.plan_key:
        return "plan"
    return "unattended" if residentless(ticket) else "repair"


async def system_person(session: AsyncSession, now: datetime) -> Person:
    """The (one) person planned work is filed by, created the first time it is needed."""
    stmt = select(Person).where(Person.role == SYSTEM_ROLE).order_by(Person.id).limit(1)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found
    person = Person(name=SYSTEM_NAME, role=SYSTEM_ROLE, created_at=now, active=False)
    session.add(person)
    await session.flush()
    return person
