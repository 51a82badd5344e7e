"""A reporter whose fault outlived the incident: their report goes out again as a repair of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, transition
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.repair.rules import JobRefused
from dispatch.site import Community
from storage.models import Person, Ticket


def is_report(ticket: Ticket) -> bool:
    """True for a report that was linked to an incident and never had a technician of its own."""
    return ticket.incident_id is not None and ticket.technician_id is None


async def not_fixed(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    resident: Person,
    now: datetime,
    notices: Notices,
) -> None:
    """Not fixed for this home: rework, offered to technicians as its own job, the supervisors told."""
    if ticket.resident_id != resident.id:
        raise JobRefused("not_yours")
    if ticket.status != Status.COMPLETED or not is_report(ticket):
        raise JobRefused("status", status=ticket.status)
    ticket.fixed = False
    await timers.cancel(session, ticket.id, [timers.CONFIRM_REMIND, timers.CONFIRM_TIMEOUT])
    await transition(
        session, ticket, Status.REWORK, now=now, actor_id=resident.id, kind="rework", reason="not_fixed"
    )
    for supervisor in await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community):
        notices.person("rework_supervisor", ticket.id, supervisor.id, reason="not_fixed")
    await transition(
        session, ticket, Status.OFFERED, now=now, actor_id=None, kind="offered", after="incident"
    )
    await dispatch_ticket(session, community, ticket, now, notices)
