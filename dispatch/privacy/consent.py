"""Consent: a resident agrees to the office's privacy notice before their first request, again when it
changes; one who does not agree leaves nothing behind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.privacy import erasure
from dispatch.site import Community
from storage.media import MediaStore
from storage.models import Person, Ticket


def needed(person: Person, community: Community) -> bool:
    """True for a resident who has not agreed to this community's current notice."""
    return person.role == "resident" and person.consent_version != community.privacy.current


def record(person: Person, community: Community, now: datetime) -> None:
    """The resident agrees: the notice's version and the time are kept on their row."""
    person.consent_version = community.privacy.current
    person.consent_at = now


async def refuse(session: AsyncSession, media: MediaStore, person: Person, now: datetime) -> bool:
    """The resident does not agree: someone with no requests yet is erased (True); otherwise what their
    earlier requests hold stays for those requests, and nothing new is taken."""
    tickets = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.resident_id == person.id)
    )
    if tickets:
        return False
    await erasure.erase(session, media, person, now, actor_id=person.id)
    return True
