"""The department's side of a matter (accept, answer, hand to someone, forward, mark handled, refuse) and the
resident's confirmation. Every step checks who may take it and the matter table, and says who must be told.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, allowed, log, transition
from dispatch.matters.routing import department_staff, group_purpose, may_handle, route
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.repair.rules import JobRefused
from dispatch.site import Community
from storage.models import Person, Ticket

OPEN = (Status.SUBMITTED, Status.ASSIGNED, Status.IN_PROGRESS)
MAX_ANSWER = 2000


def _check(person: Person, ticket: Ticket, community: Community) -> None:
    if ticket.kind != "matter":
        raise JobRefused("not_matter")
    if not may_handle(person, ticket, community):
        raise JobRefused("not_department")


async def _move(
    session: AsyncSession, ticket: Ticket, to: Status, now: datetime, actor: int, kind: str, **data: object
) -> None:
    if not allowed(ticket.status, to, ticket.kind):
        raise JobRefused("status", status=ticket.status)
    await transition(session, ticket, to, now=now, actor_id=actor, kind=kind, **data)


async def _take(
    session: AsyncSession, ticket: Ticket, holder: Person, by: Person, now: datetime, how: str
) -> None:
    """The matter now has a holder; its accept deadline is met."""
    if ticket.status == Status.SUBMITTED:
        await _move(session, ticket, Status.ASSIGNED, now, by.id, how, handler=holder.id)
    else:
        log(session, ticket, how, now=now, actor_id=by.id, handler=holder.id)
    ticket.handler_id = holder.id
    ticket.updated_at = now
    await timers.cancel(session, ticket.id, [timers.MATTER_ACCEPT])


async def accept(
    session: AsyncSession, community: Community, ticket: Ticket, by: Person, now: datetime, notices: Notices
) -> None:
    """The department takes the matter; the resident is told who has it."""
    _check(by, ticket, community)
    if ticket.status != Status.SUBMITTED:
        raise JobRefused("matter_taken", holder=await _holder_name(session, ticket))
    await _take(session, ticket, by, by, now, "accepted")
    notices.person("matter_accepted", ticket.id, ticket.resident_id, by=by.name)
    await _refresh_cards(session, community, ticket, notices)


async def hand_to(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    to: Person,
    now: datetime,
    notices: Notices,
) -> None:
    """A member of the department gives the matter to a member of staff to handle."""
    _check(by, ticket, community)
    if ticket.status not in OPEN:
        raise JobRefused("status", status=ticket.status)
    if not staff.is_staff(to) or to.id == ticket.about_staff_id:
        raise JobRefused("not_staff")
    first_taken = ticket.status == Status.SUBMITTED
    await _take(session, ticket, to, by, now, "handed")
    notices.person("matter_card", ticket.id, to.id, handed_by=by.name)
    if first_taken:
        notices.person("matter_accepted", ticket.id, ticket.resident_id, by=to.name)
    await _refresh_cards(session, community, ticket, notices)


async def answer(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    text: str,
    now: datetime,
    notices: Notices,
) -> None:
    """A reply to the resident through the bot, recorded on the matter; the first one meets the deadline."""
    _check(by, ticket, community)
    text = text.strip()[:MAX_ANSWER]
    if not text:
        raise JobRefused("empty")
    if ticket.status not in OPEN:
        raise JobRefused("status", status=ticket.status)
    if ticket.status == Status.SUBMITTED:
        await _take(session, ticket, by, by, now, "accepted")
    if ticket.status == Status.ASSIGNED:
        await _move(session, ticket, Status.IN_PROGRESS, now, by.id, "answered")
        await timers.cancel(session, ticket.id, [timers.MATTER_ANSWER])
    log(session, ticket, "replied", now=now, actor_id=by.id, text=text)
    notices.person("matter_reply", ticket.id, ticket.resident_id, text=text, by=by.name)


async def forward(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    department: str,
    reason: str,
    now: datetime,
    notices: Notices,
) -> None:
    """To another department with a reason; it starts again there, and the resident is told where it went."""
    _check(by, ticket, community)
    if community.matters.department(department) is None or department == ticket.department:
        raise JobRefused("department")
    if ticket.status not in OPEN:
        raise JobRefused("status", status=ticket.status)
    before = ticket.department
    if ticket.status != Status.SUBMITTED:
        await _move(
            session, ticket, Status.SUBMITTED, now, by.id, "forwarded", department=department, reason=reason
        )
    else:
        log(session, ticket, "forwarded", now=now, actor_id=by.id, department=department, reason=reason)
    ticket.department, ticket.handler_id, ticket.updated_at = department, None, now
    notices.person("matter_forwarded", ticket.id, ticket.resident_id, before=before, reason=reason)
    await route(session, community, ticket, now, notices)


async def mark_handled(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> None:
    """Handled: the resident is asked whether it was and to rate it (reminded, then followed up if silent)."""
    _check(by, ticket, community)
    if ticket.status == Status.SUBMITTED:
        await _take(session, ticket, by, by, now, "accepted")
    await _move(session, ticket, Status.COMPLETED, now, by.id, "handled")
    ticket.fixed = None
    await timers.cancel(session, ticket.id, [*timers.MATTER_TIMERS])
    timers.start(session, ticket.id, timers.CONFIRM_REMIND, now + policy.confirm_reminder, now=now)
    timers.start(session, ticket.id, timers.CONFIRM_TIMEOUT, now + policy.confirm_timeout, now=now)
    notices.person("matter_done", ticket.id, ticket.resident_id)
    await _refresh_cards(session, community, ticket, notices)


async def refuse(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    by: Person,
    reason: str,
    now: datetime,
    notices: Notices,
) -> None:
    """Not something the office handles: closed with the reason, which the resident is told."""
    _check(by, ticket, community)
    reason = reason.strip()[:500]
    await _move(session, ticket, Status.REJECTED, now, by.id, "rejected", reason=reason)
    await timers.cancel(session, ticket.id, [*timers.MATTER_TIMERS])
    notices.person("matter_rejected", ticket.id, ticket.resident_id, reason=reason)
    await _refresh_cards(session, community, ticket, notices)


async def confirm_handled(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    resident: Person,
    handled: bool,
    now: datetime,
    notices: Notices,
) -> None:
    """The resident's answer: handled (a rating comes next), or not, back to whoever holds it."""
    if ticket.resident_id != resident.id:
        raise JobRefused("not_yours")
    if ticket.status != Status.COMPLETED:
        raise JobRefused("status", status=ticket.status)
    ticket.fixed = handled
    await timers.cancel(session, ticket.id, [timers.CONFIRM_REMIND, timers.CONFIRM_TIMEOUT])
    if handled:
        await transition(session, ticket, Status.CONFIRMED, now=now, actor_id=resident.id, kind="confirmed")
        return
    await transition(session, ticket, Status.IN_PROGRESS, now=now, actor_id=resident.id, kind="not_handled")
    readers = [ticket.handler_id] if ticket.handler_id is not None else []
    readers += [
        p.id
        for p in await department_staff(session, community, ticket.department, exclude=ticket.about_staff_id)
        if p.id not in readers
    ]
    for reader in readers:
        notices.person("matter_reopened", ticket.id, reader, reason="not_handled")


async def _holder_name(session: AsyncSession, ticket: Ticket) -> str:
    holder = await session.get(Person, ticket.handler_id) if ticket.handler_id else None
    return holder.name if holder else ""


async def _refresh_cards(
    session: AsyncSession, community: Community, ticket: Ticket, notices: Notices
) -> None:
    """The department's cards of this matter show where it stands now (edited in place)."""
    for person in await department_staff(
        session, community, ticket.department, exclude=ticket.about_staff_id
    ):
        notices.person("matter_card", ticket.id, person.id)
    if ticket.about_staff_id is None:
        for group in await staff.groups(session, community.code, group_purpose(ticket.department)):
            notices.chat("matter_card", ticket.id, group.channel, group.chat_id)
