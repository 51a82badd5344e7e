"""Offers (抢单): a filed ticket goes to a named technician first, else to every candidate, or is queued."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, log, transition
from dispatch.notices import Notices
from dispatch.offers.candidates import Candidate, rank
from dispatch.site import Community
from storage.models import Offer, Person, Ticket
from storage.repositories import People

UNASSIGNED = (Status.SUBMITTED, Status.OFFERED)


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
