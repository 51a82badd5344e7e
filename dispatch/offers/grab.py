"""The grab: the first valid tap on Accept wins, decided by one conditional UPDATE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status
from dispatch.notices import Notices
from dispatch.offers.candidates import qualifies
from dispatch.offers.holder import close_offers, holder_name, jobs_today, on_assigned, take
from dispatch.offers.pool import Outcome
from dispatch.site import Community
from storage.models import Offer, Person, Ticket


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
        return Outcome("taken", ticket, await holder_name(session, ticket, fresh=True))
    why = qualifies(tapper, community, ticket)
    if why:
        return Outcome(why, ticket)
    if await jobs_today(session, community, tapper, now) >= tapper.capacity:
        return Outcome("full", ticket)
    taken = await take(
        session,
        ticket,
        tapper,
        now,
        actor_id=tapper.id,
        kind="taken",
        data={"offer": offer.id, "channel": channel},
    )
    if not taken:
        return Outcome("taken", ticket, await holder_name(session, ticket))
    offer.status = "taken"
    offer.answered_at = now
    await close_offers(session, ticket, tapper, now, notices, how="taken")
    await on_assigned(session, community, ticket, tapper, now, notices)
    return Outcome("", ticket)
