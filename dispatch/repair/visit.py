"""The visit: contact (T2), appointment (T3, at most N moves), on the way, arrival by code, work, hold.

Every step checks that the actor holds the job and that the status change is in the transition table, writes
an event, moves the right timers and says who must be told. A refused step raises JobRefused with a reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, allowed, log
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.repair.rules import JobRefused, move, require_holder
from dispatch.site import Community
from storage.models import Person, Ticket

APPOINTMENT_GRACE = timedelta(minutes=15)


HOLD_REASONS = ("parts", "long_job", "other_trade", "resident_absent")


async def contacted(session: AsyncSession, ticket: Ticket, tech: Person, now: datetime) -> None:
    """The technician has spoken to the resident (T2 met)."""
    require_holder(ticket, tech)
    if ticket.status not in (Status.ASSIGNED, Status.REWORK, Status.SCHEDULED):
        raise JobRefused("status", status=ticket.status)
    if ticket.contacted_at is None:
        ticket.contacted_at = now
    ticket.updated_at = now
    log(session, ticket, "contacted", now=now, actor_id=tech.id)
    await timers.cancel(session, ticket.id, [timers.CONTACT])


async def set_appointment(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    at: datetime,
    now: datetime,
    notices: Notices,
    policy: Policy,
    reason: str = "",
) -> None:
    """Fix the visit time (T3), or move it: at most `max_appointment_moves` times, the resident told why."""
    require_holder(ticket, tech)
    if at <= now:
        raise JobRefused("past")
    if ticket.appointment_at is None or ticket.status in (Status.ASSIGNED, Status.REWORK):
        if ticket.status != Status.SCHEDULED:
            await move(session, ticket, Status.SCHEDULED, now, tech.id, "appointment_set", at=at.isoformat())
        ticket.appointment_at = at
        notices.person("appointment_set", ticket.id, ticket.resident_id, at=at.isoformat())
    else:
        if ticket.status != Status.SCHEDULED:
            raise JobRefused("status", status=ticket.status)
        if ticket.appointment_moves >= policy.max_appointment_moves:
            raise JobRefused("too_many_moves", n=policy.max_appointment_moves)
        previous = ticket.appointment_at
        ticket.appointment_moves += 1
        ticket.appointment_at = at
        ticket.updated_at = now
        log(
            session,
            ticket,
            "appointment_moved",
            now=now,
            actor_id=tech.id,
            at=at.isoformat(),
            previous=previous.isoformat(),
            reason=reason,
            moves=ticket.appointment_moves,
        )
        notices.person(
            "appointment_moved",
            ticket.id,
            ticket.resident_id,
            at=at.isoformat(),
            reason=reason,
            moves=ticket.appointment_moves,
        )
    if ticket.contacted_at is None:
        ticket.contacted_at = now
    await timers.cancel(session, ticket.id, [timers.CONTACT, timers.ARRIVAL])
    timers.start(session, ticket.id, timers.ARRIVAL, at + APPOINTMENT_GRACE, now=now, technician=tech.id)


async def on_my_way(
    session: AsyncSession, ticket: Ticket, tech: Person, eta_minutes: int, now: datetime, notices: Notices
) -> None:
    """Leaving now; the resident gets the expected arrival time."""
    require_holder(ticket, tech)
    if not 1 <= eta_minutes <= 24 * 60:
        raise JobRefused("eta")
    await move(session, ticket, Status.EN_ROUTE, now, tech.id, "en_route", eta_minutes=eta_minutes)
    ticket.eta_at = now + timedelta(minutes=eta_minutes)
    if ticket.contacted_at is None:
        ticket.contacted_at = now
    await timers.cancel(session, ticket.id, [timers.CONTACT])
    notices.person("on_the_way", ticket.id, ticket.resident_id, eta=ticket.eta_at.isoformat())


async def arrive(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    code: str,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> None:
    """Arrival is recorded only with the resident's code; wrong codes are counted and the supervisor told."""
    require_holder(ticket, tech)
    if not allowed(ticket.status, Status.ON_SITE):
        raise JobRefused("status", status=ticket.status)
    if ticket.code_attempts >= policy.code_tries:
        raise JobRefused("code_locked")
    if code.strip() != ticket.arrival_code:
        ticket.code_attempts += 1
        log(session, ticket, "wrong_code", now=now, actor_id=tech.id, attempt=ticket.code_attempts)
        left = policy.code_tries - ticket.code_attempts
        if left <= 0:
            for supervisor in await staff.overseers(
                session, ticket.area, staff.Role.SUPERVISOR, ticket.community
            ):
                notices.person("code_locked", ticket.id, supervisor.id, technician=tech.name)
            notices.person("code_help", ticket.id, ticket.resident_id, technician=tech.name)
            raise JobRefused("code_locked")
        raise JobRefused("wrong_code", left=left)
    await _arrived(session, ticket, tech.id, now, notices, how="code")


async def arrive_unverified(
    session: AsyncSession, ticket: Ticket, tech: Person, now: datetime, notices: Notices
) -> None:
    """Arrival at a fault staff found: there is no resident to read a code out."""
    require_holder(ticket, tech)
    if ticket.origin == "resident":
        raise JobRefused("code_needed")
    if not allowed(ticket.status, Status.ON_SITE):
        raise JobRefused("status", status=ticket.status)
    await _arrived(session, ticket, tech.id, now, notices, how="no_resident")


async def resident_says_here(
    session: AsyncSession, ticket: Ticket, resident: Person, now: datetime, notices: Notices
) -> None:
    """The resident taps "The technician is here" instead of reading the code out."""
    if ticket.resident_id != resident.id:
        raise JobRefused("not_yours")
    if ticket.technician_id is None or not allowed(ticket.status, Status.ON_SITE):
        raise JobRefused("status", status=ticket.status)
    await _arrived(session, ticket, resident.id, now, notices, how="resident")


async def _arrived(
    session: AsyncSession, ticket: Ticket, actor: int, now: datetime, notices: Notices, how: str
) -> None:
    await move(session, ticket, Status.ON_SITE, now, actor, "arrived", how=how)
    await timers.cancel(session, ticket.id, [timers.CONTACT, timers.ARRIVAL])
    notices.person("arrived", ticket.id, ticket.resident_id)
    if ticket.technician_id is not None:
        notices.person("job_card", ticket.id, ticket.technician_id)


async def start_work(session: AsyncSession, ticket: Ticket, tech: Person, now: datetime) -> None:
    """Work begins on site."""
    require_holder(ticket, tech)
    await move(session, ticket, Status.IN_PROGRESS, now, tech.id, "in_progress")


async def hold(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    reason: str,
    until: datetime | None,
    now: datetime,
    notices: Notices,
) -> None:
    """Parts, a long job, another trade or an absent resident: on hold with a reason and an expected date."""
    require_holder(ticket, tech)
    if reason not in HOLD_REASONS:
        raise JobRefused("reason")
    await move(
        session,
        ticket,
        Status.ON_HOLD,
        now,
        tech.id,
        "on_hold",
        reason=reason,
        until=until.isoformat() if until else None,
    )
    ticket.hold_reason, ticket.hold_until = reason, until
    await timers.cancel(session, ticket.id, [timers.STALL, timers.SAME_DAY, timers.HOLD_END])
    if until is not None:
        timers.start(session, ticket.id, timers.HOLD_END, until, now=now, technician=tech.id)
    notices.person(
        "on_hold", ticket.id, ticket.resident_id, reason=reason, until=until.isoformat() if until else ""
    )


async def resume(
    session: AsyncSession, ticket: Ticket, tech: Person, now: datetime, notices: Notices, community: Community
) -> None:
    """Back to work after a hold."""
    require_holder(ticket, tech)
    await move(session, ticket, Status.IN_PROGRESS, now, tech.id, "resumed")
    ticket.hold_reason, ticket.hold_until = "", None
    await timers.cancel(session, ticket.id, [timers.HOLD_END])
    urgency = community.urgency(ticket.urgency) or community.default_urgency
    timers.start(session, ticket.id, timers.STALL, now + urgency.stall, now=now, technician=tech.id)
    notices.person("resumed", ticket.id, ticket.resident_id)
