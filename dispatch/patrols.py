"""Patrol finds: faults staff report on their rounds, with no resident; the supervisor checks the work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import closing, staff
from dispatch.lifecycle import Status, transition
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from storage.models import Person, Ticket

PATROL = "patrol"
RESIDENT = "resident"
# Notices only a resident reads: a ticket staff found has nobody to send them to.
RESIDENT_NOTICES = frozenset(
    {
        "assigned",
        "reassigned",
        "queued",
        "appointment_set",
        "appointment_moved",
        "on_the_way",
        "arrived",
        "code_help",
        "on_hold",
        "resumed",
        "late_resident",
        "quote",
        "completed",
        "confirm_reminder",
        "rework_resident",
    }
)


def has_resident(ticket: Ticket) -> bool:
    """True when a resident filed the ticket and is told, asked to confirm and to rate."""
    return ticket.origin == RESIDENT


def reaches_reporter(ticket: Ticket, kind: str, person_id: int | None) -> bool:
    """False for a resident's notice about a ticket that has no resident (its reporter is staff)."""
    return has_resident(ticket) or person_id != ticket.resident_id or kind not in RESIDENT_NOTICES


def may_patrol(person: Person) -> bool:
    """Every active member of staff may report what they find on their rounds."""
    return staff.is_staff(person) and person.active


async def ask_check(session: AsyncSession, ticket: Ticket, notices: Notices) -> None:
    """The work on a patrol find is done: its area's supervisors are asked to check it."""
    checkers = await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community)
    if not checkers:
        checkers = await staff.overseers(session, ticket.area, staff.Role.MANAGER, ticket.community)
    for person in checkers:
        notices.person("patrol_check", ticket.id, person.id)


async def check(
    session: AsyncSession, ticket: Ticket, checker: Person, fixed: bool, now: datetime, notices: Notices
) -> None:
    """The supervisor's check closes a patrol find, or sends it back to the technician as rework."""
    if checker.role not in (staff.Role.SUPERVISOR, staff.Role.MANAGER) or not staff.oversees(
        checker, ticket.area, ticket.community
    ):
        raise JobRefused("not_yours")
    if has_resident(ticket) or ticket.status != Status.COMPLETED:
        raise JobRefused("status", status=ticket.status)
    ticket.fixed = fixed
    if not fixed:
        await closing.start_rework(session, ticket, checker.id, now, notices, reason="check_failed")
        return
    await transition(session, ticket, Status.CONFIRMED, now=now, actor_id=checker.id, kind="checked")
    await transition(
        session, ticket, Status.CLOSED, now=now, actor_id=checker.id, kind="closed", followup="check"
    )
    if ticket.technician_id is not None:
        notices.person("patrol_checked", ticket.id, ticket.technician_id, checker=checker.name)
