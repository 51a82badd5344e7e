"""What each timer does when it falls due: the escalation ladder and the chases.

Each timer row fires once, so each breach is pinged once; a timer whose reason has gone (the ticket moved
on) fires silently.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import schedules, timers
from dispatch.closing import open_followup
from dispatch.lifecycle import HELD, Status, log
from dispatch.matters import deadlines
from dispatch.notices import Notices
from dispatch.offers.pool import UNASSIGNED, dispatch_ticket, widen
from dispatch.planned import work as planned_work
from dispatch.planned.rules import PLAN_DUE
from dispatch.roster import Needs, Roster
from dispatch.schedules import Calendar
from dispatch.site import Community, Site
from dispatch.staff import Role
from storage.models import ActionToken, Person, Ticket, Timer

BEFORE_ARRIVAL = (Status.ASSIGNED, Status.SCHEDULED, Status.EN_ROUTE, Status.REWORK)
Handler = Callable[[AsyncSession, Community, Ticket, Timer, datetime, Notices, Roster], Awaitable[str]]
Plain = Callable[[AsyncSession, Community, Ticket, Timer, datetime, Notices], Awaitable[str]]


def minutes(later: datetime, earlier: datetime) -> int:
    """Whole minutes between two times (never negative)."""
    return max(0, int((later - earlier).total_seconds() // 60))


async def roster(session: AsyncSession, site: Site, due: Sequence[Timer], now: datetime) -> Roster:
    """What the batch of due timers will read, loaded at once (tickets, staff, groups, workloads)."""
    return await Roster.load(session, site, due, NEEDS, now)


async def fire(
    session: AsyncSession,
    site: Site,
    timer: Timer,
    now: datetime,
    notices: Notices,
    calendar: Calendar | None = None,
    staffing: Roster | None = None,
) -> str:
    """Act on one due timer; return what it did (for logs and tests). A timer with no ticket is an
    occurrence of a scheduled job: the calendar's schedule runs it. `staffing` is the batch's roster."""
    staffing = staffing or Roster(session)
    if timer.ticket_id is None and timer.key is not None:
        outcome = await schedules.fire(session, calendar or Calendar(), timer, now, notices)
        staffing.forget()
        return outcome
    ticket = await session.get(Ticket, timer.ticket_id) if timer.ticket_id else None
    if ticket is None:
        return "gone"
    community = site.community(ticket.community) or site.default
    handler = _HANDLERS.get(timer.kind)
    if handler is None:
        return "unknown"
    return await handler(session, community, ticket, timer, now, notices, staffing)


async def _grab(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    urgency = c.urgency(t.urgency) or c.default_urgency
    if timer.data.get("round") == "named":
        widened = await widen(s, c, t, now, n)
        if widened:
            timers.start(s, t.id, timers.GRAB, now + urgency.grab, now=now, round="wide")
            return "widened"
    supervisors = await r.overseers(t.area, Role.SUPERVISOR, t.community)
    await _ping(
        s,
        c,
        t,
        now,
        n,
        r,
        supervisors,
        "escalate_supervisor",
        waited=minutes(now, t.created_at),
        late=minutes(now, timer.due_at),
    )
    timers.start(s, t.id, timers.MANAGER, now + urgency.manager, now=now)
    return "supervisor"


async def _manager(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    managers = await r.overseers(t.area, Role.MANAGER, t.community)
    await _ping(
        s,
        c,
        t,
        now,
        n,
        r,
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
    r: Roster,
    people: list[Person],
    kind: str,
    **data: int,
) -> None:
    """Tell overseers (privately and in their group) with one-tap assign buttons for the best candidates."""
    candidates = (await r.rank(c, t, now, include_full=True))[:6]
    buttons = []
    for cand in candidates:
        token = secrets.token_urlsafe(9)
        s.add(
            ActionToken(token=token, kind="assign", ticket_id=t.id, target_id=cand.person.id, created_at=now)
        )
        buttons.append({"token": token, "name": cand.person.name, "open": cand.open_jobs, "full": cand.full})
    for person in people:
        n.person(kind, t.id, person.id, buttons=buttons, **data)
    for group in await r.groups(c.code, "supervisors"):
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


async def _contact(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status != Status.ASSIGNED or t.technician_id != timer.data.get("technician"):
        return "moot"
    return await _chase(s, t, timer, now, n, r, "chase_contact")


async def _arrival(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status not in BEFORE_ARRIVAL or t.technician_id != timer.data.get("technician"):
        return "moot"
    n.person("late_resident", t.id, t.resident_id, technician_id=t.technician_id)
    return await _chase(s, t, timer, now, n, r, "chase_arrival")


async def _stall(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    # Progress moves updated_at; a ticket touched since the timer started isn't stalled.
    if t.status not in HELD or t.status == Status.ON_HOLD or t.updated_at > timer.created_at:
        return "moot"
    return await _chase(s, t, timer, now, n, r, "chase_stall")


async def _same_day(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status not in HELD:
        return "moot"
    for person in await r.overseers(t.area, Role.SUPERVISOR, t.community):
        n.person("unfinished_today", t.id, person.id)
    for person in await r.customer_service(t.community):
        n.person("unfinished_today", t.id, person.id)
    log(s, t, "unfinished_today", now=now, actor_id=None)
    return "customer_service"


async def _chase(
    s: AsyncSession, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster, kind: str
) -> str:
    supervisors = await r.overseers(t.area, Role.SUPERVISOR, t.community)
    late = minutes(now, timer.created_at)
    for person in supervisors:
        n.person(kind, t.id, person.id, late=late, technician_id=t.technician_id)
    log(s, t, kind, now=now, actor_id=None, to=[p.id for p in supervisors], minutes=late)
    return "chased"


async def _requeue(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status not in UNASSIGNED or t.technician_id is not None:
        return "moot"
    return await dispatch_ticket(s, c, t, now, n)


async def _hold_end(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status != Status.ON_HOLD:
        return "moot"
    if t.technician_id is not None:
        n.person("hold_over_technician", t.id, t.technician_id)
    return await _chase(s, t, timer, now, n, r, "chase_hold")


async def _confirm_remind(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status != Status.COMPLETED:
        return "moot"
    n.person("confirm_reminder", t.id, t.resident_id)
    log(s, t, "confirm_reminded", now=now, actor_id=None)
    return "reminded"


async def _confirm_timeout(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
) -> str:
    if t.status != Status.COMPLETED:
        return "moot"
    await open_followup(s, t, "silent", now, n)
    return "followup"


def _reads_itself(handler: Plain) -> Handler:
    """A handler of another module, which does its own lookups."""

    async def fire(
        s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices, r: Roster
    ) -> str:
        return await handler(s, c, t, timer, now, n)

    return fire


_HANDLERS: dict[str, Handler] = {
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
    timers.MATTER_ACCEPT: _reads_itself(deadlines.not_accepted),
    timers.MATTER_ANSWER: _reads_itself(deadlines.not_answered),
    PLAN_DUE: _reads_itself(planned_work.overdue),
}
# What each kind's handler asks the roster, so that a batch loads it in one go.
NEEDS = {
    timers.GRAB: Needs((Role.SUPERVISOR,), groups=True, rank=True),
    timers.MANAGER: Needs((Role.MANAGER,), groups=True, rank=True),
    timers.CONTACT: Needs((Role.SUPERVISOR,)),
    timers.ARRIVAL: Needs((Role.SUPERVISOR,)),
    timers.STALL: Needs((Role.SUPERVISOR,)),
    timers.SAME_DAY: Needs((Role.SUPERVISOR, Role.CUSTOMER_SERVICE)),
    timers.HOLD_END: Needs((Role.SUPERVISOR,)),
}
