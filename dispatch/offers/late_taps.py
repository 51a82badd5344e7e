"""Taps on offers that are already settled, answered from one read.

In a grab storm every tap but the first comes after the winner has committed: it can change nothing, and its
answer ("already taken by Wang") needs only the offer, the ticket, the holder's name and the tapper. Reading
those in one statement spares it the whole event path (the tapper's person and conversation rows, the offer
and ticket as objects), so the losers' answers are not queued behind that work. Anything the read cannot
settle for certain goes the whole way through `dispatch.offers.grab`, which applies the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from dispatch.lifecycle import Status
from storage.models import ChannelIdentity, Offer, Person, Ticket

Holder = aliased(Person, name="holder")
Tapper = aliased(Person, name="tapper")
ENDED = (str(Status.CANCELLED), str(Status.REJECTED))


@dataclass(frozen=True)
class OfferTap:
    """What one read tells about a tap on an offer: the copy, its ticket, the holder, the tapper."""

    channel: str
    chat_id: str
    offered_to: int | None
    status: str
    number: str
    holder_id: int | None
    holder: str
    tapper_id: int | None
    tapper_language: str | None

    def settled(self, channel: str, chat_id: str) -> str | None:
        """The outcome when the tap can change nothing ("taken", "yours", "cancelled"), else None.

        The same rules, in the same order, as `dispatch.offers.grab`; a copy tapped from another chat or by
        someone it was not offered to is left to it (those answers are rare and need the full checks)."""
        if self.tapper_id is None or (self.channel, self.chat_id) != (channel, chat_id):
            return None
        if self.offered_to is not None and self.offered_to != self.tapper_id:
            return None
        if self.status in ENDED:
            return "cancelled"
        if self.holder_id is None:
            return None
        return "yours" if self.holder_id == self.tapper_id else "taken"


_READ: Executable = (
    select(
        Offer.channel,
        Offer.chat_id,
        Offer.technician_id,
        Ticket.status,
        Ticket.number,
        Ticket.technician_id,
        Holder.name,
        ChannelIdentity.person_id,
        Tapper.language,
    )
    .join(Ticket, Ticket.id == Offer.ticket_id)
    .outerjoin(Holder, Holder.id == Ticket.technician_id)
    .outerjoin(
        ChannelIdentity,
        and_(
            ChannelIdentity.channel == bindparam("b_channel"),
            ChannelIdentity.external_id == bindparam("b_external"),
        ),
    )
    .outerjoin(Tapper, Tapper.id == ChannelIdentity.person_id)
    .where(Offer.token == bindparam("b_token"))
)


async def read_tap(
    session: AsyncSession | AsyncConnection, token: str, channel: str, external_id: str
) -> OfferTap | None:
    """The offer copy with this button token and what its tap needs, in one query; None if unknown."""
    params: dict[str, Any] = {"b_token": token, "b_channel": channel, "b_external": external_id}
    row = (await session.execute(_READ, params)).first()
    if row is None:
        return None
    return OfferTap(
        channel=row[0],
        chat_id=row[1],
        offered_to=row[2],
        status=str(row[3]),
        number=row[4],
        holder_id=row[5],
        holder=row[6] or "",
        tapper_id=row[7],
        tapper_language=row[8],
    )
