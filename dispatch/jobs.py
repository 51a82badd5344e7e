"""A technician's steps on a held job: contact, appointment, way, arrival, hold, quote, complete, hand back.

Every step checks that the actor holds the job and that the status change is in the transition table, writes
an event, moves the right timers and says who must be told. A refused step raises JobRefused with a reason.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, allowed, log, transition
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.site import Community
from storage.models import Person, Quote, Ticket, TicketPhoto

APPOINTMENT_GRACE = timedelta(minutes=15)
HOLD_REASONS = ("parts", "long_job", "other_trade", "resident_absent")
HANDBACK_REASONS = ("other_trade", "unreachable", "too_far", "other")


class JobRefused(Exception):
    """A step that can't be taken now; `reason` says why (not_holder, status, ...)."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def new_code() -> str:
    """A 4-digit arrival code (上门验证码), never starting with 0 so it reads as a number."""
    return str(1000 + secrets.randbelow(9000))


def _holder(ticket: Ticket, technician: Person) -> None:
    if ticket.technician_id != technician.id:
        raise JobRefused("not_holder")


async def _move(
    session: AsyncSession, ticket: Ticket, to: Status, now: datetime, actor: int, kind: str, **data: object
) -> None:
    if not allowed(ticket.status, to):
        raise JobRefused("status", status=ticket.status, wanted=str(to))
    await transition(session, ticket, to, now=now, actor_id=actor, kind=kind, **data)


async def contacted(session: AsyncSession, ticket: Ticket, tech: Person, now: datetime) -> None:
    """The technician has spoken to the resident (T2 met)."""
    _holder(ticket, tech)
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
    _holder(ticket, tech)
    if at <= now:
        raise JobRefused("past")
    if ticket.appointment_at is None or ticket.status in (Status.ASSIGNED, Status.REWORK):
        if ticket.status != Status.SCHEDULED:
            await _move(session, ticket, Status.SCHEDULED, now, tech.id, "appointment_set", at=at.isoformat())
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
    _holder(ticket, tech)
    if not 1 <= eta_minutes <= 24 * 60:
        raise JobRefused("eta")
    await _move(session, ticket, Status.EN_ROUTE, now, tech.id, "en_route", eta_minutes=eta_minutes)
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
    _holder(ticket, tech)
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
    await _move(session, ticket, Status.ON_SITE, now, actor, "arrived", how=how)
    await timers.cancel(session, ticket.id, [timers.CONTACT, timers.ARRIVAL])
    notices.person("arrived", ticket.id, ticket.resident_id)
    if ticket.technician_id is not None:
        notices.person("job_card", ticket.id, ticket.technician_id)


async def start_work(session: AsyncSession, ticket: Ticket, tech: Person, now: datetime) -> None:
    """Work begins on site."""
    _holder(ticket, tech)
    await _move(session, ticket, Status.IN_PROGRESS, now, tech.id, "in_progress")


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
    _holder(ticket, tech)
    if reason not in HOLD_REASONS:
        raise JobRefused("reason")
    await _move(
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
    _holder(ticket, tech)
    await _move(session, ticket, Status.IN_PROGRESS, now, tech.id, "resumed")
    ticket.hold_reason, ticket.hold_until = "", None
    await timers.cancel(session, ticket.id, [timers.HOLD_END])
    urgency = community.urgency(ticket.urgency) or community.default_urgency
    timers.start(session, ticket.id, timers.STALL, now + urgency.stall, now=now, technician=tech.id)
    notices.person("resumed", ticket.id, ticket.resident_id)


def parse_quote(text: str, policy: Policy) -> list[tuple[str, int]]:
    """Lines of "item amount" (换水龙头 80 / 人工 50.5) into (item, cents); refuse nonsense."""
    items: list[tuple[str, int]] = []
    for raw in text.replace("，", "\n").replace(",", "\n").splitlines():
        line = raw.strip().replace("¥", " ").replace("元", " ").replace("￥", " ")
        if not line:
            continue
        name, _, amount = line.rpartition(" ")
        try:
            cents = round(float(amount) * 100)
        except ValueError:
            raise JobRefused("quote_format", line=raw.strip()[:40]) from None
        if not name.strip():
            raise JobRefused("quote_format", line=raw.strip()[:40])
        if cents <= 0 or cents > policy.max_quote_cents:
            raise JobRefused("quote_amount", line=raw.strip()[:40])
        items.append((name.strip()[:60], cents))
    if not items or len(items) > policy.max_quote_items:
        raise JobRefused("quote_format", line="")
    if sum(c for _, c in items) > policy.max_quote_cents:
        raise JobRefused("quote_amount", line="")
    return items


async def quote(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    items: list[tuple[str, int]],
    now: datetime,
    notices: Notices,
) -> Quote:
    """Paid work: the resident must approve the price before the work goes on."""
    _holder(ticket, tech)
    if ticket.status not in (Status.ON_SITE, Status.IN_PROGRESS):
        raise JobRefused("status", status=ticket.status)
    if await pending_quote(session, ticket.id) is not None:
        raise JobRefused("quote_pending")
    row = Quote(
        ticket_id=ticket.id,
        items=[f"{name}\t{cents}" for name, cents in items],
        total_cents=sum(c for _, c in items),
        status="pending",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    log(session, ticket, "quoted", now=now, actor_id=tech.id, quote=row.id, total_cents=row.total_cents)
    notices.person("quote", ticket.id, ticket.resident_id, quote=row.id)
    return row


def quote_items(row: Quote) -> list[tuple[str, int]]:
    """The stored items of a quote."""
    return [(name, int(cents)) for name, _, cents in (i.rpartition("\t") for i in row.items)]


async def pending_quote(session: AsyncSession, ticket_id: int) -> Quote | None:
    """The quote waiting for the resident, if any."""
    stmt = select(Quote).where(Quote.ticket_id == ticket_id, Quote.status == "pending")
    return (await session.execute(stmt)).scalars().first()


async def decide_quote(
    session: AsyncSession,
    row: Quote,
    resident: Person,
    approve: bool,
    now: datetime,
    notices: Notices,
    reason: str = "",
) -> Ticket:
    """The resident approves or declines; a declined quote's work does not go ahead and the reason is kept."""
    ticket = await session.get(Ticket, row.ticket_id)
    if ticket is None or ticket.resident_id != resident.id:
        raise JobRefused("not_yours")
    if row.status != "pending":
        raise JobRefused("quote_decided", status=row.status)
    row.status, row.decided_at, row.reason = ("approved" if approve else "declined"), now, reason[:200]
    ticket.updated_at = now
    log(
        session,
        ticket,
        "quote_approved" if approve else "quote_declined",
        now=now,
        actor_id=resident.id,
        quote=row.id,
        total_cents=row.total_cents,
        reason=reason[:200],
    )
    if ticket.technician_id is not None:
        notices.person("quote_decided", ticket.id, ticket.technician_id, approved=approve, quote=row.id)
    return ticket


async def complete(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    *,
    after_photos: list[str],
    materials: str,
    labour_minutes: int,
    fee_cents: int | None,
    customer_materials: str,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> None:
    """Done: after-photos, materials, labour and fee recorded; the resident is asked to confirm."""
    _holder(ticket, tech)
    if not allowed(ticket.status, Status.COMPLETED):
        raise JobRefused("status", status=ticket.status)
    if len(after_photos) < policy.min_after_photos:
        raise JobRefused("photos", n=policy.min_after_photos)
    if await pending_quote(session, ticket.id) is not None:
        raise JobRefused("quote_pending")
    if not 0 <= labour_minutes <= 24 * 60 or (
        fee_cents is not None and not 0 <= fee_cents <= policy.max_quote_cents
    ):
        raise JobRefused("numbers")
    if fee_cents is None:
        approved = (
            (
                await session.execute(
                    select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "approved")
                )
            )
            .scalars()
            .all()
        )
        fee_cents = sum(q.total_cents for q in approved)
    for sha in after_photos:
        session.add(
            TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="after", added_by=tech.id, added_at=now)
        )
    ticket.materials, ticket.labour_minutes, ticket.fee_cents = materials[:2000], labour_minutes, fee_cents
    ticket.customer_materials = customer_materials[:1000]
    await _move(
        session,
        ticket,
        Status.COMPLETED,
        now,
        tech.id,
        "completed",
        fee_cents=fee_cents,
        labour_minutes=labour_minutes,
        photos=len(after_photos),
    )
    await timers.cancel(
        session, ticket.id, [timers.CONTACT, timers.ARRIVAL, timers.STALL, timers.SAME_DAY, timers.HOLD_END]
    )
    timers.start(session, ticket.id, timers.CONFIRM_REMIND, now + policy.confirm_reminder, now=now)
    timers.start(session, ticket.id, timers.CONFIRM_TIMEOUT, now + policy.confirm_timeout, now=now)
    notices.person("completed", ticket.id, ticket.resident_id)


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
    from dispatch.offers import dispatch_ticket

    _holder(ticket, tech)
    if reason not in HANDBACK_REASONS:
        raise JobRefused("reason")
    await _move(session, ticket, Status.OFFERED, now, tech.id, "handed_back", reason=reason)
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
