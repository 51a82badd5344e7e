"""Becoming the holder of a ticket: the one conditional update, the other copies closed, deadlines started."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import timers
from dispatch.lifecycle import Status, transition_if_unchanged
from dispatch.notices import Notices
from dispatch.offers.candidates import local_midnight
from dispatch.offers.pool import UNASSIGNED
from dispatch.planned.rules import residentless
from dispatch.repair.rules import new_code
from dispatch.site import Community
from storage.models import Offer, Person, Ticket


async def jobs_today(session: AsyncSession, community: Community, person: Person, now: datetime) -> int:
    """How many jobs this technician took since the community's midnight."""
    stmt = select(func.count()).where(
        Ticket.technician_id == person.id, Ticket.assigned_at >= local_midnight(now, community)
    )
    return int((await session.execute(stmt)).scalar_one())


async def take(
    session: AsyncSession,
    ticket: Ticket,
    technician: Person,
    now: datetime,
    *,
    actor_id: int,
    kind: str,
    data: dict[str, object],
) -> bool:
    """The one conditional UPDATE that makes exactly one technician the holder (False: another was first)."""
    event = await transition_if_unchanged(
        session,
        ticket,
        Status.ASSIGNED,
        expected=UNASSIGNED,
        where=[Ticket.technician_id.is_(None)],
        values={"technician_id": technician.id, "assigned_at": now},
        now=now,
        actor_id=actor_id,
        kind=kind,
        **data,
    )
    return event is not None


async def holder_name(session: AsyncSession, ticket: Ticket, *, fresh: bool = False) -> str:
    """The name of whoever holds the ticket now."""
    if not fresh:  # a lost race: the winner's commit is newer than what we read
        await session.refresh(ticket)
    holder = await session.get(Person, ticket.technician_id) if ticket.technician_id else None
    return holder.name if holder else ""


async def close_offers(
    session: AsyncSession, ticket: Ticket, holder: Person, now: datetime, notices: Notices, *, how: str
) -> None:
    """Every other copy of the offer is edited to say who took it; its buttons go."""
    copies = (await session.execute(select(Offer).where(Offer.ticket_id == ticket.id))).scalars().all()
    for copy in copies:
        if copy.status == "open":
            copy.status = "lost"
            copy.answered_at = now
        if copy.status != "declined":
            notices.chat(
                "offer_closed",
                ticket.id,
                copy.channel,
                copy.chat_id,
                reader=copy.technician_id,
                holder=holder.name,
                how=how,
                winner=copy.technician_id == holder.id,
            )


async def on_assigned(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    technician: Person,
    now: datetime,
    notices: Notices,
    *,
    reassigned: bool = False,
) -> None:
    """Start the holder's deadlines and tell the technician and the resident."""

    urgency = community.urgency(ticket.urgency) or community.default_urgency
    await timers.cancel(session, ticket.id, [timers.GRAB, timers.MANAGER, timers.REQUEUE, *timers.JOB_TIMERS])
    # A fresh arrival code per holder: a code read out to a previous technician proves nothing.
    ticket.arrival_code = new_code()
    ticket.code_attempts = 0
    ticket.contacted_at = None
    ticket.appointment_at = None
    ticket.appointment_moves = 0
    if residentless(ticket):
        # Planned work: no resident to contact, meet or tell; its own PLAN_DUE deadline chases it.
        notices.person("job_details", ticket.id, technician.id)
        notices.person("job_card", ticket.id, technician.id)
        return
    if ticket.origin == "resident":  # a patrol find has nobody to call
        timers.start(
            session, ticket.id, timers.CONTACT, now + urgency.contact, now=now, technician=technician.id
        )
    if not urgency.is_default:
        timers.start(
            session, ticket.id, timers.ARRIVAL, now + urgency.arrival, now=now, technician=technician.id
        )
    timers.start(session, ticket.id, timers.STALL, now + urgency.stall, now=now, technician=technician.id)
    timers.start(
        session, ticket.id, timers.SAME_DAY, timers.end_of_local_day(now, community.timezone), now=now
    )
    notices.person("job_details", ticket.id, technician.id)
    notices.person("job_card", ticket.id, technician.id)
    notices.person(
        "reassigned" if reassigned else "assigned",
        ticket.id,
        ticket.resident_id,
        technician=technician.name,
        code=ticket.arrival_code,
    )
