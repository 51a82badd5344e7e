"""Filing a matter: its own number (the community's matters prefix), its first event, photos, and routing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import timers
from dispatch.lifecycle import Status
from dispatch.matters.routing import route
from dispatch.notices import Notices
from dispatch.site import Community
from storage.models import Ticket, TicketEvent, TicketPhoto
from storage.repositories import Tickets


@dataclass
class MatterDraft:
    """What the resident told, ready to become a matter."""

    community: str
    kind: str
    department: str
    description: str
    phone: str = ""
    anonymous: bool = False
    about_staff_id: int | None = None
    location_text: str = ""
    latitude: float | None = None
    longitude: float | None = None
    photos: list[str] = field(default_factory=list)


async def submit_matter(
    session: AsyncSession,
    community: Community,
    resident_id: int,
    draft: MatterDraft,
    *,
    now: datetime,
    language: str,
    notices: Notices,
) -> Ticket:
    """Create the matter in the caller's transaction and route it to its department."""
    prefix = community.matters.ticket_prefix
    day = now.astimezone(community.timezone).strftime("%Y%m%d")
    sequence = await Tickets(session).next_number(prefix, day)
    located = bool(draft.location_text or draft.latitude is not None)
    ticket = Ticket(
        number=f"{prefix}-{day}-{sequence:04d}",
        kind="matter",
        community=community.code,
        status=str(Status.SUBMITTED),
        resident_id=resident_id,
        scope="public" if located else "",
        location_text=draft.location_text,
        latitude=draft.latitude,
        longitude=draft.longitude,
        phone="" if draft.anonymous else draft.phone,
        description=draft.description,
        category="",
        urgency="",
        matter_kind=draft.kind,
        department=draft.department,
        anonymous=draft.anonymous,
        about_staff_id=draft.about_staff_id,
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
            data={"matter": draft.kind, "department": draft.department, "photos": len(draft.photos)},
        )
    )
    promise = community.matters.deadlines_for(draft.department, draft.kind)
    # The resident's promise runs from filing, whoever the matter is forwarded to.
    timers.start(session, ticket.id, timers.MATTER_ANSWER, now + promise.answer, now=now)
    await route(session, community, ticket, now, notices)
    return ticket
