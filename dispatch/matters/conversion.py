"""A repair reported as a matter, or a matter that is really a repair: staff convert it, keeping its number,
its history and its photos; it then runs the other loop from the start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, log, transition
from dispatch.matters.routing import may_handle, route
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.repair.rules import JobRefused
from dispatch.site import Community
from dispatch.site.model import MATTER_KINDS
from storage.models import Offer, Person, Ticket

UNASSIGNED_REPAIR = (Status.SUBMITTED, Status.OFFERED)
OPEN_MATTER = (Status.SUBMITTED, Status.ASSIGNED, Status.IN_PROGRESS)


async def to_matter(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    kind: str,
    department: str,
    now: datetime,
    notices: Notices,
) -> None:
    """A repair nobody holds yet becomes a matter of `department`; its open offers are withdrawn."""
    if not staff.oversees(by, ticket.area, ticket.community) and by.role != staff.Role.CUSTOMER_SERVICE:
        raise JobRefused("not_supervisor")
    if ticket.kind == "matter":
        raise JobRefused("already", kind="matter")
    if ticket.status not in UNASSIGNED_REPAIR or ticket.technician_id is not None:
        raise JobRefused("status", status=ticket.status)
    if kind not in MATTER_KINDS or community.matters.department(department) is None:
        raise JobRefused("department")
    if ticket.status == Status.OFFERED:
        await transition(session, ticket, Status.SUBMITTED, now=now, actor_id=by.id, kind="withdrawn")
    await timers.cancel(session, ticket.id, [timers.GRAB, timers.MANAGER, timers.REQUEUE])
    copies = await session.execute(select(Offer).where(Offer.ticket_id == ticket.id, Offer.status == "open"))
    for copy in copies.scalars():
        copy.status = "withdrawn"
        notices.chat("offer_cancelled", ticket.id, copy.channel, copy.chat_id, reader=copy.technician_id)
    ticket.kind, ticket.matter_kind, ticket.department = "matter", kind, department
    ticket.updated_at = now
    log(session, ticket, "converted", now=now, actor_id=by.id, to="matter", department=department)
    promise = community.matters.deadlines_for(department, kind)
    timers.start(session, ticket.id, timers.MATTER_ANSWER, now + promise.answer, now=now)
    notices.person("converted", ticket.id, ticket.resident_id, to="matter")
    await route(session, community, ticket, now, notices)


async def to_repair(
    session: AsyncSession, community: Community, ticket: Ticket, by: Person, now: datetime, notices: Notices
) -> None:
    """An open matter becomes a repair: its category is guessed from the words, and it is offered."""
    if ticket.kind != "matter":
        raise JobRefused("already", kind="repair")
    if not may_handle(by, ticket, community):
        raise JobRefused("not_department")
    if ticket.status not in OPEN_MATTER:
        raise JobRefused("status", status=ticket.status)
    if ticket.status != Status.SUBMITTED:
        await transition(session, ticket, Status.SUBMITTED, now=now, actor_id=by.id, kind="withdrawn")
    await timers.cancel(session, ticket.id, [*timers.MATTER_TIMERS])
    suggestion = community.suggest(ticket.description)
    ticket.kind = "repair"
    ticket.category = suggestion.category or community.categories[-1].code
    ticket.urgency = suggestion.urgency
    ticket.handler_id = None
    ticket.updated_at = now
    log(session, ticket, "converted", now=now, actor_id=by.id, to="repair", category=ticket.category)
    notices.person("converted", ticket.id, ticket.resident_id, to="repair")
    await dispatch_ticket(session, community, ticket, now, notices)
