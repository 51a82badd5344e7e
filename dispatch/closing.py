"""Closing the loop: the resident confirms and rates, customer service follows up, cancel and reopen.

Follow-up (回访) is 100%: a resident's own rating above the threshold is the follow-up; silence or an unhappy
rating becomes a task for customer service, whose recorded outcome closes the ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, allowed, log, transition
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.repair.rules import JobRefused, new_code
from storage.models import FollowUp, Offer, Person, Ticket

CANCEL_REASONS = ("fixed_myself", "not_needed", "duplicate", "too_slow", "other")
FOLLOWUP_OUTCOMES = ("satisfied", "resolved", "rework", "unreachable")


def _resident(ticket: Ticket, person: Person) -> None:
    if ticket.resident_id != person.id:
        raise JobRefused("not_yours")


async def confirm_fixed(
    session: AsyncSession, ticket: Ticket, resident: Person, fixed: bool, now: datetime, notices: Notices
) -> None:
    """Fixed → confirmed (a rating comes next); not fixed → rework by the same technician, supervisor told."""
    _resident(ticket, resident)
    if ticket.status != Status.COMPLETED:
        raise JobRefused("status", status=ticket.status)
    ticket.fixed = fixed
    await timers.cancel(session, ticket.id, [timers.CONFIRM_REMIND, timers.CONFIRM_TIMEOUT])
    if fixed:
        await transition(session, ticket, Status.CONFIRMED, now=now, actor_id=resident.id, kind="confirmed")
        return
    await start_rework(session, ticket, resident.id, now, notices, reason="not_fixed")


async def start_rework(
    session: AsyncSession, ticket: Ticket, actor_id: int, now: datetime, notices: Notices, *, reason: str
) -> None:
    """Back to the same technician with a new arrival code; the supervisor and the technician are told."""
    if not allowed(ticket.status, Status.REWORK):
        raise JobRefused("status", status=ticket.status)
    await transition(session, ticket, Status.REWORK, now=now, actor_id=actor_id, kind="rework", reason=reason)
    ticket.arrival_code, ticket.code_attempts = new_code(), 0
    ticket.fixed = None
    await timers.cancel(session, ticket.id, [timers.CONFIRM_REMIND, timers.CONFIRM_TIMEOUT])
    for supervisor in await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community):
        notices.person("rework_supervisor", ticket.id, supervisor.id, reason=reason)
    if ticket.technician_id is not None:
        notices.person("rework_technician", ticket.id, ticket.technician_id, reason=reason)
        notices.person("job_card", ticket.id, ticket.technician_id)
    notices.person("rework_resident", ticket.id, ticket.resident_id, code=ticket.arrival_code)


async def rate(
    session: AsyncSession,
    ticket: Ticket,
    resident: Person,
    stars: int,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> bool:
    """Record a 1-5 rating; at or under the threshold a follow-up task opens, else the ticket closes.

    Returns True when a follow-up task was opened.
    """
    _resident(ticket, resident)
    if not 1 <= stars <= 5:
        raise JobRefused("rating")
    if ticket.status != Status.CONFIRMED or ticket.rating is not None:
        raise JobRefused("status", status=ticket.status)
    ticket.rating = stars
    ticket.updated_at = now
    log(session, ticket, "rated", now=now, actor_id=resident.id, rating=stars)
    if stars <= policy.unhappy_rating:
        await open_followup(session, ticket, "unhappy", now, notices)
        return True
    await transition(
        session, ticket, Status.CLOSED, now=now, actor_id=resident.id, kind="closed", followup="rating"
    )
    return False


async def add_comment(
    session: AsyncSession, ticket: Ticket, resident: Person, text: str, now: datetime
) -> None:
    """The resident's optional words after rating."""
    _resident(ticket, resident)
    ticket.comment = text.strip()[:1000]
    log(session, ticket, "commented", now=now, actor_id=resident.id)


async def open_followup(
    session: AsyncSession, ticket: Ticket, reason: str, now: datetime, notices: Notices
) -> None:
    """A follow-up task for customer service (once per reason while open)."""
    existing = (
        (
            await session.execute(
                select(FollowUp).where(FollowUp.ticket_id == ticket.id, FollowUp.status == "open")
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        return
    session.add(FollowUp(ticket_id=ticket.id, reason=reason, status="open", created_at=now))
    log(session, ticket, "followup_opened", now=now, actor_id=None, reason=reason)
    for person in await customer_service(session, ticket.community):
        if person.id != ticket.about_staff_id:  # a complaint about them is never theirs to follow up
            notices.person("followup_task", ticket.id, person.id, reason=reason)


async def customer_service(session: AsyncSession, community: str | None = None) -> Sequence[Person]:
    """Customer service of the community (and those of no community in particular)."""
    stmt = select(Person).where(
        Person.role == str(staff.Role.CUSTOMER_SERVICE),
        Person.active.is_(True),
        staff.in_community(community),
    )
    return (await session.execute(stmt)).scalars().all()


async def open_followups(
    session: AsyncSession, community: str | None = None, limit: int = 20
) -> Sequence[FollowUp]:
    """Follow-up tasks waiting in the community (all when None), oldest first."""
    stmt = select(FollowUp).where(FollowUp.status == "open")
    if community is not None:
        stmt = stmt.join(Ticket, Ticket.id == FollowUp.ticket_id).where(Ticket.community == community)
    stmt = stmt.order_by(FollowUp.created_at).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def record_followup(
    session: AsyncSession,
    task: FollowUp,
    by: Person,
    outcome: str,
    note: str,
    now: datetime,
    notices: Notices,
) -> Ticket:
    """Customer service records what the follow-up found; it closes the ticket (or starts rework)."""
    if by.role not in (staff.Role.CUSTOMER_SERVICE, staff.Role.SUPERVISOR, staff.Role.MANAGER):
        raise JobRefused("not_staff")
    if outcome not in FOLLOWUP_OUTCOMES:
        raise JobRefused("outcome")
    if task.status != "open":
        raise JobRefused("followup_done")
    ticket = await session.get(Ticket, task.ticket_id)
    assert ticket is not None
    task.status, task.done_at, task.done_by, task.outcome, task.note = (
        "done",
        now,
        by.id,
        outcome,
        note[:2000],
    )
    await timers.cancel(session, ticket.id, [timers.CONFIRM_REMIND, timers.CONFIRM_TIMEOUT])
    if ticket.kind == "matter":
        await _matter_followed_up(session, ticket, by, outcome, note, now, notices)
        return ticket
    if outcome == "rework" and allowed(ticket.status, Status.REWORK):
        await start_rework(session, ticket, by.id, now, notices, reason="followup")
        return ticket
    await transition(
        session,
        ticket,
        Status.FOLLOWED_UP,
        now=now,
        actor_id=by.id,
        kind="followed_up",
        outcome=outcome,
        note=note[:200],
    )
    if outcome == "rework":
        await start_rework(session, ticket, by.id, now, notices, reason="followup")
        return ticket
    await transition(session, ticket, Status.CLOSED, now=now, actor_id=by.id, kind="closed", followup=outcome)
    return ticket


async def _matter_followed_up(
    session: AsyncSession,
    ticket: Ticket,
    by: Person,
    outcome: str,
    note: str,
    now: datetime,
    notices: Notices,
) -> None:
    """A matter's follow-up call: closed, or back to whoever handles it when it needs more work."""
    await transition(
        session,
        ticket,
        Status.FOLLOWED_UP,
        now=now,
        actor_id=by.id,
        kind="followed_up",
        outcome=outcome,
        note=note[:200],
    )
    if outcome != "rework":
        await transition(
            session, ticket, Status.CLOSED, now=now, actor_id=by.id, kind="closed", followup=outcome
        )
        return
    await transition(session, ticket, Status.IN_PROGRESS, now=now, actor_id=by.id, kind="reopened")
    if ticket.handler_id is not None:
        notices.person("matter_reopened", ticket.id, ticket.handler_id, reason="followup")


async def cancel(
    session: AsyncSession, ticket: Ticket, resident: Person, reason: str, now: datetime, notices: Notices
) -> None:
    """The resident withdraws the request before the technician is on site."""
    _resident(ticket, resident)
    if reason not in CANCEL_REASONS:
        raise JobRefused("reason")
    if not allowed(ticket.status, Status.CANCELLED, ticket.kind):
        raise JobRefused("status", status=ticket.status)
    holder = ticket.technician_id if ticket.kind != "matter" else ticket.handler_id
    await transition(
        session, ticket, Status.CANCELLED, now=now, actor_id=resident.id, kind="cancelled", reason=reason
    )
    await timers.cancel(
        session,
        ticket.id,
        [timers.GRAB, timers.MANAGER, timers.REQUEUE, *timers.JOB_TIMERS, *timers.MATTER_TIMERS],
    )
    if holder is not None:
        notices.person("cancelled_technician", ticket.id, holder, reason=reason)
    copies = (
        (await session.execute(select(Offer).where(Offer.ticket_id == ticket.id, Offer.status == "open")))
        .scalars()
        .all()
    )
    for copy in copies:
        copy.status = "withdrawn"
        notices.chat("offer_cancelled", ticket.id, copy.channel, copy.chat_id, reader=copy.technician_id)


async def reopen(session: AsyncSession, ticket: Ticket, by: Person, now: datetime, notices: Notices) -> None:
    """A supervisor sends a finished job back as rework."""
    if not staff.oversees(by, ticket.area, ticket.community):
        raise JobRefused("not_supervisor")
    if ticket.technician_id is None:
        raise JobRefused("status", status=ticket.status)
    await start_rework(session, ticket, by.id, now, notices, reason="reopened")
