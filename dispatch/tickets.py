"""Filing a ticket: numbering, the first event, the before-photos."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status
from dispatch.site import Community
from storage.models import Ticket, TicketEvent, TicketPhoto
from storage.repositories import Tickets


@dataclass
class Draft:
    """What intake collected, ready to become a ticket."""

    community: str
    scope: str
    phone: str
    description: str
    category: str
    urgency: str
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    location_text: str = ""
    latitude: float | None = None
    longitude: float | None = None
    voice_ref: str = ""
    preferred_window: str = ""
    photos: list[str] = field(default_factory=list)
    named_technician_id: int | None = None
    source: str = ""  # the channel it was filed on
    origin: str = "resident"  # or "patrol": found by staff, no resident to tell


def ticket_number(community: Community, now: datetime, sequence: int) -> str:
    """BX-20261122-0007: prefix, the community's local date, a daily sequence."""
    day = now.astimezone(community.timezone).strftime("%Y%m%d")
    return f"{community.ticket_prefix}-{day}-{sequence:04d}"


async def submit(
    session: AsyncSession,
    community: Community,
    resident_id: int,
    draft: Draft,
    *,
    now: datetime,
    language: str,
) -> Ticket:
    """Create the ticket, its photos and its first event in the caller's transaction."""
    day = now.astimezone(community.timezone).strftime("%Y%m%d")
    repo = Tickets(session)
    # Keyed by prefix, not community: communities sharing a prefix share one sequence, so numbers stay
    # unique; a community with its own prefix gets its own daily sequence.
    sequence = await repo.next_number(community.ticket_prefix, day)
    number = ticket_number(community, now, sequence)
    building = community.building(draft.building) if draft.building else None
    ticket = Ticket(
        number=number,
        community=community.code,
        status=str(Status.SUBMITTED),
        resident_id=resident_id,
        scope=draft.scope,
        building=draft.building,
        unit=draft.unit,
        room=draft.room,
        area=building.area if building else "",
        location_text=draft.location_text,
        latitude=draft.latitude,
        longitude=draft.longitude,
        phone=draft.phone,
        description=draft.description,
        voice_ref=draft.voice_ref,
        category=draft.category,
        urgency=draft.urgency,
        preferred_window=draft.preferred_window,
        named_technician_id=draft.named_technician_id,
        source=draft.source[:20],
        origin=draft.origin,
        language=language,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    for sha in draft.photos:
        session.add(
            TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="before", added_by=resident_id, added_at=now)
        )
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor_id=resident_id,
            kind="submitted",
            from_status=None,
            to_status=str(Status.SUBMITTED),
            data={"photos": len(draft.photos), "category": draft.category, "urgency": draft.urgency},
        )
    )
    return ticket
