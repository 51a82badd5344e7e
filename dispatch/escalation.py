"""What each timer does when it falls due: the escalation ladder and the chases.

Each timer row fires once, so each breach is pinged once; a timer whose reason has gone (the ticket moved
on) fires silently.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import schedules, staff, timers
from dispatch.closing import open_followup
from dispatch.lifecycle import HELD, Status, log
from dispatch.matters import deadlines
from dispatch.notices import Notices
from dispatch.offers.candidates import rank
from dispatch.offers.pool import UNASSIGNED, dispatch_ticket, widen
from dispatch.planned import work as planned_work
from dispatch.planned.rules import PLAN_DUE
from dispatch.schedules import Calendar
from dispatch.site import Community, Site
from storage.models import ActionToken, Person, Ticket, Timer

BEFORE_ARRIVAL = (Status.ASSIGNED, Status.SCHEDULED, Status.EN_ROUTE, Status.REWORK)


def minutes(later: datetime, earlier: datetime) -> int:
    """Whole minutes between two times (never negative)."""
    return max(0, int((later - earlier).total_seconds() // 60))


async def fire(
    session: AsyncSession,
    site: Site,
    timer: Timer,
    now: datetime,
    notices: Notices,
    calendar: Calendar | None = None,
) -> str:
    """Act on one due timer; return what it did (for logs and tests). A timer with no ticket is an
    occurrence of a scheduled job: the calendar's schedule runs it."""
    if timer.ticket_id is None and timer.key is not None:
        return await schedules.fire(session, calendar or Calendar(), timer, now, notices)
    ticket = await session.get(Ticket, timer.ticket_id) if timer.ticket_id else None
    if ticket is None:
        return "gone"
    community = site.community(ticket.community) or site.default
    handler = _HANDLERS.get(timer.kind)
    if handler is None:
        return "unknown"
    return await handler(session, community, ticket, timer, now, notices)


async def _grab(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    urgency = c.urgency(t.urgency) or c.default_urgency
    if timer.data.get("round") == "named":
        widened = await widen(s, c, t, now, n)
        if widened:
            timers.start(s, t.id, timers.GRAB, now + urgency.grab, now=now, round="wide")
            return "widened"
    supervisors = await staff.overseers(s, t.area, staff.Role.SUPERVISOR, t.community)
    await _ping(
        s,
        c,
        t,
        now,
        n,
        supervisors,
        "escalate_supervisor",
        waited=minutes(now, t.created_at),
        late=minutes(now, timer.due_at),
    )
    timers.start(s, t.id, timers.MANAGER, now + urgency.manager, now=now)
    return "supervisor"


async def _manager(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    managers = await staff.overseers(s, t.area, staff.Role.MANAGER, t.community)
    await _ping(
        s,
        c,
        t,
        now,
        n,
        managers,
        "escalate_manager",
        waited=minutes(now, t.created_at),
        late=minutes(now, timer.due_at),
    )
    return "manager"


async def _ping(
    s: AsyncSession,
    c: Community,
    t: Ticket,
    now: datetime,
    n: Notices,
    people: list[Person],
    kind: str,
    **data: int,
) -> None:
    """Tell overseers (privately and in their group) with one-tap assign buttons for the best candidates."""
    candidates = (await rank(s, c, t, now, include_full=True))[:6]
    buttons = []
    for cand in candidates:
        token = secrets.token_urlsafe(9)
        s.add(
            ActionToken(token=token, kind="assign", ticket_id=t.id, target_id=cand.person.id, created_at=now)
        )
        buttons.append({"token": token, "name": cand.person.name, "open": cand.open_jobs, "full": cand.full})
    for person in people:
        n.person(kind, t.id, person.id, buttons=buttons, **data)
    for group in await staff.groups(s, c.code, "supervisors"):
        n.chat(kind, t.id, group.channel, group.chat_id, buttons=buttons, **data)
    log(
        s,
        t,
        "escalated",
        now=now,
        actor_id=None,
        level=kind.removeprefix("escalate_"),
        to=[p.id for p in people],
        **data,
    )


async def _contact(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status != Status.ASSIGNED or t.technician_id != timer.data.get("technician"):
        return "moot"
    return await _chase(s, t, timer, now, n, "chase_contact")


async def _arrival(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status not in BEFORE_ARRIVAL or t.technician_id != timer.data.get("technician"):
        return "moot"
    n.person("late_resident", t.id, t.resident_id, technician_id=t.technician_id)
    return await _chase(s, t, timer, now, n, "chase_arrival")


async def _stall(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    # Progress moves updated_at; a ticket touched since the timer started isn't stalled.
    if t.status not in HELD or t.status == Status.ON_HOLD or t.updated_at > timer.created_at:
        return "moot"
    return await _chase(s, t, timer, now, n, "chase_stall")


async def _same_day(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status not in HELD:
        return "moot"
    for person in await staff.overseers(s, t.area, staff.Role.SUPERVISOR, t.community):
        n.person("unfinished_today", t.id, person.id)
    for person in await _customer_service(s, t.community):
        n.person("unfinished_today", t.id, person.id)
    log(s, t, "unfinished_today", now=now, actor_id=None)
    return "customer_service"


async def _customer_service(s: AsyncSession, community: str) -> list[Person]:
    from sqlalchemy import select

    stmt = select(Person).where(
        Person.role == str(staff.Role.CUSTOMER_SERVICE),
        Person.active.is_(True),
        staff.in_community(community),
    )
    return list((await s.execute(stmt)).scalars().all())


async def _chase(s: AsyncSession, t: Ticket, timer: Timer, now: datetime, n: Notices, kind: str) -> str:
    supervisors = await staff.overseers(s, t.area, staff.Role.SUPERVISOR, t.community)
    late = minutes(now, timer.created_at)
    for person in supervisors:
        n.person(kind, t.id, person.id, late=late, technician_id=t.technician_id)
    log(s, t, kind, now=now, actor_id=None, to=[p.id for p in supervisors], minutes=late)
    return "chased"


async def _requeue(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    return await dispatch_ticket(s, c, t, now, n)


async def _hold_end(s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices) -> str:
    if t.status != Status.ON_HOLD:
        return "moot"
    if t.technician_id is not None:
        n.person("hold_over_technician", t.id, t.technician_id)
    return await _chase(s, t, timer, now, n, "chase_hold")


async def _confirm_remind(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices
) -> str:
    if t.status != Status.COMPLETED:
        return "moot"
    n.person("confirm_reminder", t.id, t.resident_id)
    log(s, t, "confirm_reminded", now=now, actor_id=None)
    return "reminded"


async def _confirm_timeout(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices
) -> str:
    if t.status != Status.COMPLETED:
        return "moot"
    await open_followup(s, t, "silent", now, n)
    return "followup"


_HANDLERS = {
    timers.HOLD_END: _hold_end,
    timers.CONFIRM_REMIND: _confirm_remind,
    timers.CONFIRM_TIMEOUT: _confirm_timeout,
    timers.GRAB: _grab,
    timers.MANAGER: _manager,
    timers.CONTACT: _contact,
    timers.ARRIVAL: _arrival,
    timers.STALL: _stall,
    timers.SAME_DAY: _same_day,
    timers.REQUEUE: _requeue,
    timers.MATTER_ACCEPT: deadlines.not_accepted,
    timers.MATTER_ANSWER: deadlines.not_answered,
    PLAN_DUE: planned_work.overdue,
}
