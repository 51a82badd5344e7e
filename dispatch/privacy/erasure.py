"""Erasing a resident at their request: personal fields go, tickets stay for the office's figures.

What goes: the person's name and phone, their saved addresses, chat identities, conversations and the
messages sent to them, the photos of their tickets (rows and files, unless another ticket still uses the same
file), and on each ticket the phone, room, place, description, comment and voice note. Copies of the phone,
room or name in messages sent to staff and in the ticket log are blanked. What stays: each ticket's number,
kind, community, building, unit, category, urgency, status, times, technician, rating and fee, so the counts
and times the office reports do not change. Each ticket gets the event "erased".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import OPEN, log
from dispatch.privacy import downloads
from storage.media import MediaStore
from storage.models import (
    ActionToken,
    Address,
    ChannelIdentity,
    Conversation,
    FollowUp,
    InboundRate,
    OutboxMessage,
    Person,
    Ticket,
    TicketEvent,
    TicketPhoto,
    WeChatChat,
)

logger = logging.getLogger(__name__)

EVENT = "erased"
BLANK = "***"
# Shorter strings (a room "1", a name "Li") would blank unrelated words in the copies searched below.
_MIN_NEEDLE = 3
_PAGE = 500


class ErasureRefused(Exception):
    """Erasure cannot go on: `reason` is "staff" (not a resident) or "open" (`open_numbers` still open)."""

    def __init__(self, reason: str, open_numbers: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.open_numbers = list(open_numbers)


@dataclass
class Erasure:
    """What an erasure removed, counted (for the log line and the operator)."""

    tickets: int = 0
    addresses: int = 0
    identities: int = 0
    photos: int = 0
    files: list[str] = field(default_factory=list)
    messages: int = 0


async def open_tickets(session: AsyncSession, person_id: int) -> list[str]:
    """Numbers of the resident's tickets that are not closed, cancelled or rejected yet."""
    stmt = select(Ticket.number).where(Ticket.resident_id == person_id, Ticket.status.in_(list(OPEN)))
    return list((await session.execute(stmt.order_by(Ticket.id))).scalars())


async def people_by_phone(session: AsyncSession, phone: str) -> list[Person]:
    """Everyone whose profile or any of whose tickets carries this (normalized) phone, oldest first."""
    on_tickets = select(Ticket.resident_id).where(Ticket.phone == phone)
    stmt = select(Person).where((Person.phone == phone) | Person.id.in_(on_tickets)).order_by(Person.id)
    return list((await session.execute(stmt)).scalars())


async def holds_anything(session: AsyncSession, person: Person) -> bool:
    """True while the person has a phone, a saved address or tickets and was not erased yet."""
    if person.phone:
        return True
    addresses = await session.scalar(
        select(func.count()).select_from(Address).where(Address.person_id == person.id)
    )
    tickets = select(func.count()).select_from(Ticket).where(Ticket.resident_id == person.id)
    return bool(addresses or (person.erased_at is None and await session.scalar(tickets)))


async def erase(
    session: AsyncSession, media: MediaStore, person: Person, now: datetime, *, actor_id: int | None
) -> Erasure:
    """Erase `person` (a resident with no open ticket) in this transaction; the caller commits.

    Files are removed from the media folder after the rows that point at them are gone; a file another
    resident's ticket also holds (the same picture, stored once by content hash) is kept.
    """
    if person.role != "resident":
        raise ErasureRefused("staff")
    if still_open := await open_tickets(session, person.id):
        raise ErasureRefused("open", still_open)
    done = Erasure()
    tickets = list((await session.execute(select(Ticket).where(Ticket.resident_id == person.id))).scalars())
    identities = list(
        (
            await session.execute(select(ChannelIdentity).where(ChannelIdentity.person_id == person.id))
        ).scalars()
    )
    needles = _needles(person, tickets, identities)
    ticket_ids = [t.id for t in tickets]
    done.tickets = len(tickets)

    # Photos: rows first, then the files nobody else points at.
    shas: set[str] = set()
    if ticket_ids:
        photos = (
            await session.execute(select(TicketPhoto).where(TicketPhoto.ticket_id.in_(ticket_ids)))
        ).scalars()
        for photo in photos:
            shas.add(photo.sha256)
            done.photos += 1
        await session.execute(delete(TicketPhoto).where(TicketPhoto.ticket_id.in_(ticket_ids)))

    for ticket in tickets:
        _strip_ticket(ticket, now)
        log(
            session,
            ticket,
            EVENT,
            now=now,
            actor_id=actor_id,
            by="resident" if actor_id == person.id else "staff",
        )

    if ticket_ids:
        events = (
            await session.execute(select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)))
        ).scalars()
        for event in events:
            event.data = _scrub(event.data, needles)
        followups = (
            await session.execute(select(FollowUp).where(FollowUp.ticket_id.in_(ticket_ids)))
        ).scalars()
        for followup in followups:
            followup.note = _scrub(followup.note, needles)

    # Chats: what was said to the resident goes with its files (a /mydata archive among them); copies of their
    # contact details in messages to staff are blanked.
    chats = [(i.channel, i.chat_id) for i in identities]
    for channel, chat_id in chats:
        rows = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id
                )
            )
        ).scalars()
        for row in rows:
            shas.update(d["ref"] for d in row.payload.get("documents", []))
            await session.delete(row)
            done.messages += 1
        await session.execute(
            delete(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
        )
        await session.execute(
            delete(WeChatChat).where(WeChatChat.channel == channel, WeChatChat.chat_id == chat_id)
        )
    for identity in identities:
        await session.execute(
            delete(InboundRate).where(
                InboundRate.channel == identity.channel, InboundRate.external_id == identity.external_id
            )
        )
    await scrub_sent_messages(
        session, needles, since=min((t.created_at for t in tickets), default=person.created_at)
    )

    done.addresses = (
        await session.execute(delete(Address).where(Address.person_id == person.id))
    ).rowcount or 0  # type: ignore[attr-defined]
    shas |= await downloads.archives_of(session, person.id)
    await session.execute(delete(ActionToken).where(ActionToken.target_id == person.id))
    done.identities = (
        await session.execute(delete(ChannelIdentity).where(ChannelIdentity.person_id == person.id))
    ).rowcount or 0  # type: ignore[attr-defined]
    person.name = ""
    person.phone = None
    person.active = False
    person.erased_at = now
    await session.flush()

    for sha in sorted(shas):
        if await _still_used(session, sha):
            continue
        if media.delete(sha):
            done.files.append(sha)
    logger.info(
        "erased resident #%s: %s tickets stripped, %s photos, %s files, %s addresses, %s chat accounts",
        person.id,
        done.tickets,
        done.photos,
        len(done.files),
        done.addresses,
        done.identities,
    )
    return done


def _strip_ticket(ticket: Ticket, now: datetime) -> None:
    """Remove a ticket's personal fields; what the figures count (place to the entrance, times) stays."""
    ticket.phone = ""
    ticket.room = None
    ticket.location_text = ""
    ticket.latitude = None
    ticket.longitude = None
    ticket.description = ""
    ticket.voice_ref = ""
    ticket.comment = ""
    ticket.arrival_code = ""
    ticket.preferred_window = ""
    ticket.updated_at = now


def _needles(person: Person, tickets: list[Ticket], identities: list[ChannelIdentity]) -> list[str]:
    """The strings that identify the resident, longest first so a phone is blanked before its digits."""
    found = {person.name, person.phone or ""}
    found |= {i.display_name for i in identities}
    for ticket in tickets:
        found |= {ticket.phone, ticket.room or "", ticket.location_text}
        if ticket.building and ticket.unit and ticket.room:
            found.add(f"{ticket.building}-{ticket.unit}-{ticket.room}")
    return sorted((n for n in found if n and len(n) >= _MIN_NEEDLE), key=len, reverse=True)


def _scrub(value: Any, needles: list[str]) -> Any:
    """The value with every needle in its strings replaced by BLANK (dicts and lists walked)."""
    if isinstance(value, str):
        for needle in needles:
            if needle in value:
                value = value.replace(needle, BLANK)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return value


async def scrub_sent_messages(session: AsyncSession, needles: list[str], since: datetime) -> None:
    """Blank these strings in messages already sent since then (the job details a technician got ...).

    Messages still waiting are left alone: they are about tickets still open, and someone needs them.
    """
    if not needles:
        return
    last_id = 0
    while True:
        # In pages, so a big outbox is never held in memory at once.
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.created_at >= since,
                OutboxMessage.id > last_id,
                OutboxMessage.status != "pending",
            )
            .order_by(OutboxMessage.id)
            .limit(_PAGE)
        )
        rows = (await session.execute(stmt)).scalars().all()
        for row in rows:
            cleaned = _scrub(row.payload, needles)
            if cleaned != row.payload:
                row.payload = cleaned
        if len(rows) < _PAGE:
            return
        last_id = rows[-1].id


async def _still_used(session: AsyncSession, sha: str) -> bool:
    """True when another ticket's photo row still points at the file."""
    count = await session.scalar(
        select(func.count()).select_from(TicketPhoto).where(TicketPhoto.sha256 == sha)
    )
    return bool(count)
