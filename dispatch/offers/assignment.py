"""Assignment by hand: supervisors assign and reassign; a technician hands a job back to the pool."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import HELD, Status, log
from dispatch.notices import Notices
from dispatch.offers.candidates import qualifies
from dispatch.offers.holder import close_offers, holder_name, on_assigned, take
from dispatch.offers.pool import UNASSIGNED, Outcome, dispatch_ticket
from dispatch.repair.rules import JobRefused, move, require_holder
from dispatch.site import Community
from storage.models import Person, Ticket


async def assign(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    technician: Person,
    by: Person,
    now: datetime,
    notices: Notices,
    *,
    force: bool = False,
) -> Outcome:
    """A supervisor gives an unassigned ticket to a technician (asked to confirm when they don't qualify)."""
    if not staff.oversees(by, ticket.area, ticket.community):
        return Outcome("not_supervisor", ticket)
    if ticket.technician_id is not None:
        return Outcome("taken", ticket, await holder_name(session, ticket))
    if ticket.status not in UNASSIGNED:
        return Outcome("closed", ticket)
    why = qualifies(technician, community, ticket)
    refusal = _needs_confirmation(why, force, ticket)
    if refusal is not None:
        return refusal
    taken = await take(
        session,
        ticket,
        technician,
        now,
        actor_id=by.id,
        kind="assigned",
        data={"technician": technician.id, "forced": bool(why)},
    )
    if not taken:
        return Outcome("taken", ticket, await holder_name(session, ticket))
    await close_offers(session, ticket, technician, now, notices, how="assigned")
    await on_assigned(session, community, ticket, technician, now, notices)
    return Outcome("", ticket)


def _needs_confirmation(why: str, force: bool, ticket: Ticket) -> Outcome | None:
    """Not a technician: refused; off duty, wrong skill or area: the supervisor confirms first."""
    if why == "not_technician":
        return Outcome(why, ticket)
    if why and not force:
        return Outcome("confirm_" + why, ticket)
    return None


async def reassign(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    technician: Person,
    by: Person,
    now: datetime,
    notices: Notices,
    *,
    force: bool = False,
) -> Outcome:
    """Move a held ticket to another technician; both technicians and the resident are told."""
    if not staff.oversees(by, ticket.area, ticket.community):
        return Outcome("not_supervisor", ticket)
    if ticket.technician_id is None:
        return await assign(session, community, ticket, technician, by, now, notices, force=force)
    if ticket.status not in HELD:
        return Outcome("closed", ticket)
    if ticket.technician_id == technician.id:
        return Outcome("same", ticket, technician.name)
    refusal = _needs_confirmation(qualifies(technician, community, ticket), force, ticket)
    if refusal is not None:
        return refusal
    previous = ticket.technician_id
    ticket.technician_id = technician.id
    ticket.assigned_at = now
    ticket.updated_at = now
    log(session, ticket, "reassigned", now=now, actor_id=by.id, previous=previous, technician=technician.id)
    notices.person("job_removed", ticket.id, previous, by=by.name, to=technician.name)
    await on_assigned(session, community, ticket, technician, now, notices, reassigned=True)
    return Outcome("", ticket)


HANDBACK_REASONS = ("other_trade", "unreachable", "too_far", "other")


async def hand_back(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    tech: Person,
    reason: str,
    now: datetime,
    notices: Notices,
) -> None:
    """The technician returns the job to dispatch; it is offered again to everyone else."""

    require_holder(ticket, tech)
    if reason not in HANDBACK_REASONS:
        raise JobRefused("reason")
    await move(session, ticket, Status.OFFERED, now, tech.id, "handed_back", reason=reason)
    ticket.technician_id = None
    ticket.appointment_at = None
    await timers.cancel(
        session, ticket.id, [timers.CONTACT, timers.ARRIVAL, timers.STALL, timers.SAME_DAY, timers.HOLD_END]
    )
    notices.person("handed_back", ticket.id, ticket.resident_id, reason=reason)
    for supervisor in await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community):
        notices.person(
            "handed_back_supervisor", ticket.id, supervisor.id, technician=tech.name, reason=reason
        )
    await dispatch_ticket(session, community, ticket, now, notices, exclude=tech.id)
