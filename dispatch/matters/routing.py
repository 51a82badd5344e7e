"""Who answers for a matter: its department's staff (from the site file), else the community's managers.

A complaint about a member of staff never reaches that person, and never goes to a group chat, where they
might read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.notices import Notices
from dispatch.site import Community
from storage.models import Person, Ticket

GROUP_PREFIX = "dept:"


def group_purpose(department: str) -> str:
    """The purpose a department's group chat is bound under (`/bindgroup department CODE`)."""
    return GROUP_PREFIX + department


async def department_staff(
    session: AsyncSession, community: Community, department: str, *, exclude: int | None = None
) -> list[Person]:
    """The department's staff who take its matters; the managers when it names nobody registered."""
    found = community.matters.department(department)
    names = list(found.supervisors) if found is not None else []
    people: list[Person] = []
    if names:
        stmt = select(Person).where(
            Person.name.in_(names),
            Person.active.is_(True),
            Person.role.in_([str(r) for r in staff.STAFF_ROLES]),
            staff.in_community(community.code),
        )
        people = list((await session.execute(stmt.order_by(Person.id))).scalars())
    people = [p for p in people if p.id != exclude]
    if not people:
        people = await managers(session, community, exclude=exclude)
    return people


async def managers(
    session: AsyncSession, community: Community, *, exclude: int | None = None
) -> list[Person]:
    """The community's managers (a complaint's subject left out)."""
    found = await staff.overseers(session, "", staff.Role.MANAGER, community.code)
    return [p for p in found if p.id != exclude]


def may_handle(person: Person, ticket: Ticket, community: Community) -> bool:
    """The department's staff, whoever holds the matter, and managers; never the one it is about."""
    if not person.active or person.id == ticket.about_staff_id or not staff.is_staff(person):
        return False
    if person.id == ticket.handler_id:
        return True
    if person.role == staff.Role.MANAGER and staff.serves(person, ticket.community):
        return True
    department = community.matters.department(ticket.department)
    return department is not None and person.name in department.supervisors


async def route(
    session: AsyncSession, community: Community, ticket: Ticket, now: datetime, notices: Notices
) -> None:
    """Tell the department (privately, and in its group unless it is a complaint about someone), and start
    the deadline to accept."""
    for person in await department_staff(
        session, community, ticket.department, exclude=ticket.about_staff_id
    ):
        notices.person("matter_new", ticket.id, person.id)
    if ticket.about_staff_id is None:
        for group in await staff.groups(session, community.code, group_purpose(ticket.department)):
            notices.chat("matter_new", ticket.id, group.channel, group.chat_id)
    promise = community.matters.deadlines_for(ticket.department, ticket.matter_kind)
    await timers.cancel(session, ticket.id, [timers.MATTER_ACCEPT])
    timers.start(session, ticket.id, timers.MATTER_ACCEPT, now + promise.accept, now=now)
