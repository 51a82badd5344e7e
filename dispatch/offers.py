"""Offers and the grab: first valid tap wins by one conditional UPDATE; supervisors assign and reassign."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.candidates import Candidate, local_midnight, qualifies, rank
from dispatch.lifecycle import HELD, Status, log, transition
from dispatch.notices import Notices
from dispatch.site import Community
from storage.models import Offer, Person, Ticket, TicketEvent
from storage.repositories import People

UNASSIGNED = (str(Status.SUBMITTED), str(Status.OFFERED))


@dataclass(frozen=True)
class Outcome:
    """What a grab or an assignment came to; `reason` is "" on success."""

    reason: str
    ticket: Ticket | None = None
    holder: str = ""

    @property
    def ok(self) -> bool:
        """True when the tapper or chosen technician now holds the ticket."""
        return not self.reason


async def dispatch_ticket(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    now: datetime,
    notices: Notices,
    *,
    exclude: int | None = None,
) -> str:
    """Offer a submitted ticket: to a named technician alone first, else to every candidate; or queue it."""
    candidates = [c for c in await rank(session, community, ticket, now) if c.person.id != exclude]
    named = next((c for c in candidates if c.person.id == ticket.named_technician_id), None)
    urgency = community.urgency(ticket.urgency) or community.default_urgency
    if named is not None:
        await _send_offers(session, community, ticket, [named], now, notices, round_="named", groups=False)
        timers.start(session, ticket.id, timers.GRAB, now + urgency.grab, now=now, round="named")
    elif candidates:
        await _send_offers(session, community, ticket, candidates, now, notices, round_="wide", groups=True)
        timers.start(session, ticket.id, timers.GRAB, now + urgency.grab, now=now, round="wide")
    else:
        await _queue(session, community, ticket, now, notices)
        return "queued"
    if ticket.status == Status.SUBMITTED:
        offered_to = [c.person.id for c in ([named] if named else candidates)]
        await transition(
            session, ticket, Status.OFFERED, now=now, actor_id=None, kind="offered", offered_to=offered_to
        )
    return "offered"


async def widen(
    session: AsyncSession, community: Community, ticket: Ticket, now: datetime, notices: Notices
) -> int:
    """After the named technician's window: offer to everyone else too."""
    already = set(
        (await session.execute(select(Offer.technician_id).where(Offer.ticket_id == ticket.id)))
        .scalars()
        .all()
    )
    others = [c for c in await rank(session, community, ticket, now) if c.person.id not in already]
    await _send_offers(session, community, ticket, others, now, notices, round_="wide", groups=True)
    log(session, ticket, "widened", now=now, actor_id=None, to=[c.person.id for c in others])
    return len(others)


async def _send_offers(
    session: AsyncSession,
    community: Community,
    ticket: Ticket,
    candidates: Sequence[Candidate],
    now: datetime,
    notices: Notices,
    *,
    round_: str,
    groups: bool,
) -> None:
    mode = community.offer_mode
    bound = await staff.groups(session, community.code, "technicians") if groups else []
    private = mode in ("private", "both") or (mode == "group" and not bound)
    targets: list[tuple[int | None, str, str]] = []
    if private:
        latest = await People(session).latest_identities([c.person.id for c in candidates])
        for candidate in candidates:
            if identity := latest.get(candidate.person.id):
                targets.append((candidate.person.id, identity.channel, identity.chat_id))
    if mode in ("group", "both"):
        targets.extend((None, g.channel, g.chat_id) for g in bound)
    tokens = [secrets.token_urlsafe(9) for _ in targets]
    if targets:
        # One bulk INSERT: nothing in this transaction needs the offers as objects, and the unit of work cost
        # a fifth of the CPU of offering a job to 300 technicians, all before the first offer could leave.
        rows = [
            {
                "ticket_id": ticket.id,
                "token": token,
                "technician_id": technician_id,
                "channel": channel,
                "chat_id": chat_id,
                "round": round_,
                "status": "open",
                "created_at": now,
            }
            for (technician_id, channel, chat_id), token in zip(targets, tokens, strict=True)
        ]
        await session.execute(insert(Offer), rows)
    for (technician_id, channel, chat_id), token in zip(targets, tokens, strict=True):
        group = technician_id is None
        notices.chat("offer", ticket.id, channel, chat_id, reader=technician_id, token=token, group=group)


async def _queue(
    session: AsyncSession, community: Community, ticket: Ticket, now: datetime, notices: Notices
) -> None:
    """Nobody can take it today: say so honestly, show the supervisors, retry at the next slot."""
    slot = timers.next_slot(now, community.timezone)
    log(session, ticket, "queued", now=now, actor_id=None, next_slot=slot.isoformat())
    timers.start(session, ticket.id, timers.REQUEUE, slot, now=now)
    notices.person("queued", ticket.id, ticket.resident_id, slot=slot.isoformat())
    for supervisor in await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community):
        notices.person("queue_supervisor", ticket.id, supervisor.id, slot=slot.isoformat())


async def offer_by_token(session: AsyncSession, token: str) -> Offer | None:
    """An offer copy by its button token."""
    return (await session.execute(select(Offer).where(Offer.token == token))).scalar_one_or_none()


async def jobs_today(session: AsyncSession, community: Community, person: Person, now: datetime) -> int:
    """How many jobs this technician took since the community's midnight."""
    stmt = select(func.count()).where(
        Ticket.technician_id == person.id, Ticket.assigned_at >= local_midnight(now, community)
    )
    return int((await session.execute(stmt)).scalar_one())


async def grab(
    session: AsyncSession,
    community: Community,
    offer: Offer,
    tapper: Person,
    *,
    channel: str,
    chat_id: str,
    now: datetime,
    notices: Notices,
) -> Outcome:
    """A tap on Accept: authorise the tapper, then let one conditional UPDATE decide the winner."""
    ticket = await session.get(Ticket, offer.ticket_id, populate_existing=True)
    if ticket is None:
        return Outcome("unknown")
    if offer.channel != channel or offer.chat_id != chat_id:
        return Outcome("wrong_chat", ticket)
    if offer.technician_id is not None and offer.technician_id != tapper.id:
        return Outcome("not_yours", ticket)
    if ticket.status in (Status.CANCELLED, Status.REJECTED):
        return Outcome("cancelled", ticket)
    if ticket.technician_id == tapper.id:  # a second tap by the winner
        return Outcome("yours", ticket)
    if ticket.technician_id is not None:  # the common loser: the winner has committed
        return Outcome("taken", ticket, await _holder_name(session, ticket, fresh=True))
    why = qualifies(tapper, community, ticket)
    if why:
        return Outcome(why, ticket)
    if await jobs_today(session, community, tapper, now) >= tapper.capacity:
        return Outcome("full", ticket)
    before = ticket.status
    if not await _take(session, ticket, tapper, now):
        return Outcome("taken", ticket, await _holder_name(session, ticket))
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor_id=tapper.id,
            kind="taken",
            from_status=before,
            to_status=str(Status.ASSIGNED),
            data={"offer": offer.id, "channel": channel},
        )
    )
    offer.status = "taken"
    offer.answered_at = now
    await _close_offers(session, ticket, tapper, now, notices, how="taken")
    await on_assigned(session, community, ticket, tapper, now, notices)
    return Outcome("", ticket)


async def _take(session: AsyncSession, ticket: Ticket, technician: Person, now: datetime) -> bool:
    """The single conditional UPDATE that makes exactly one technician the holder."""
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(UNASSIGNED), Ticket.technician_id.is_(None))
        .values(status=str(Status.ASSIGNED), technician_id=technician.id, assigned_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(ticket)
    ticket.stamps = {**(ticket.stamps or {}), str(Status.ASSIGNED): now.isoformat()}
    return True


async def _holder_name(session: AsyncSession, ticket: Ticket, *, fresh: bool = False) -> str:
    if not fresh:  # a lost race: the winner's commit is newer than what we read
        await session.refresh(ticket)
    holder = await session.get(Person, ticket.technician_id) if ticket.technician_id else None
    return holder.name if holder else ""


async def _close_offers(
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


async def decline(
    session: AsyncSession, community: Community, offer: Offer, tapper: Person, now: datetime, notices: Notices
) -> str:
    """ "Not for me" on a private offer; when nobody is left, escalate at once."""
    if offer.technician_id != tapper.id:
        return "not_yours"
    if offer.status != "open":
        return "closed"
    offer.status = "declined"
    offer.answered_at = now
    ticket = await session.get(Ticket, offer.ticket_id)
    assert ticket is not None
    log(session, ticket, "declined", now=now, actor_id=tapper.id)
    notices.chat("offer_declined", ticket.id, offer.channel, offer.chat_id, reader=tapper.id)
    still_open = (
        await session.execute(
            select(func.count()).where(Offer.ticket_id == ticket.id, Offer.status == "open")
        )
    ).scalar_one()
    if not still_open and ticket.status == Status.OFFERED:
        # Nobody left to grab: don't make the resident wait out the window.
        await timers.cancel(session, ticket.id, [timers.GRAB])
        timers.start(session, ticket.id, timers.GRAB, now, now=now, round="wide")
    return ""


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
        return Outcome("taken", ticket, await _holder_name(session, ticket))
    if ticket.status not in UNASSIGNED:
        return Outcome("closed", ticket)
    why = qualifies(technician, community, ticket)
    refusal = _needs_confirmation(why, force, ticket)
    if refusal is not None:
        return refusal
    before = ticket.status
    if not await _take(session, ticket, technician, now):
        return Outcome("taken", ticket, await _holder_name(session, ticket))
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor_id=by.id,
            kind="assigned",
            from_status=before,
            to_status=str(Status.ASSIGNED),
            data={"technician": technician.id, "forced": bool(why)},
        )
    )
    await _close_offers(session, ticket, technician, now, notices, how="assigned")
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
    from dispatch.jobs import new_code

    urgency = community.urgency(ticket.urgency) or community.default_urgency
    await timers.cancel(session, ticket.id, [timers.GRAB, timers.MANAGER, timers.REQUEUE, *timers.JOB_TIMERS])
    # A fresh arrival code per holder: a code read out to a previous technician proves nothing.
    ticket.arrival_code = new_code()
    ticket.code_attempts = 0
    ticket.contacted_at = None
    ticket.appointment_at = None
    ticket.appointment_moves = 0
    timers.start(session, ticket.id, timers.CONTACT, now + urgency.contact, now=now, technician=technician.id)
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
