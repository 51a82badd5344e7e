"""Retention: a daily job removes the photos, then the phone and room, of tickets finished long enough ago.

A ticket counts as finished when it is closed, cancelled or rejected; its age is taken from when it entered
that status (its stamp), so a ticket reopened and closed again starts over. Photos go after
`photos_days`, the phone, room and exact place after `contacts_days`; 0 keeps them. /mydata archives (a
resident's whole record) go after ARCHIVE_DAYS whatever the settings: they were made to be taken away. The
job is one scheduled row per day for the whole deployment (dispatch/schedules.py), fired once however many
workers run, and logs what it removed. Each ticket it touches gets the event "retention" saying what went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from dispatch.lifecycle import log
from dispatch.notices import Notices
from dispatch.privacy import downloads
from dispatch.privacy.erasure import scrub_sent_messages
from dispatch.schedules import Calendar, Daily, Schedule
from storage.media import MediaStore
from storage.models import ActionToken, Ticket, TicketPhoto, Timer

logger = logging.getLogger(__name__)

KIND = "retention"
EVENT = "retention"
FINISHED = ("closed", "cancelled", "rejected")
# Tickets handled per transaction; a backlog (a first run on an old database) is worked off day by day.
BATCH = 500
# A /mydata archive is kept this long: time for a slow delivery, not a copy of the record for ever.
ARCHIVE_DAYS = 7


@dataclass(frozen=True)
class Retention:
    """How long finished tickets keep their photos and contact details (days; 0 = for ever)."""

    photos_days: int = 180
    contacts_days: int = 365
    at: time = time(3, 30)


@dataclass
class Removed:
    """What one run removed."""

    photos: int = 0
    files: int = 0
    contacts: int = 0
    archives: int = 0


def calendar(rules: Retention, media: MediaStore, tz: ZoneInfo) -> Calendar:
    """The daily retention schedule (always: old /mydata archives go even when tickets keep everything)."""
    job = Schedule("retention", KIND, Daily(rules.at, tz), partial(_fire, rules, media))
    return Calendar((job,), frozenset({KIND}))


async def _fire(
    rules: Retention, media: MediaStore, session: AsyncSession, timer: Timer, now: datetime, notices: Notices
) -> str:
    del timer, notices  # the job tells no one; it logs
    removed = await run(session, media, rules, now)
    logger.info(
        "retention: removed %s photos (%s files) and the contacts of %s tickets; %s old /mydata archives",
        removed.photos,
        removed.files,
        removed.contacts,
        removed.archives,
    )
    return f"photos {removed.photos}, contacts {removed.contacts}"


async def run(session: AsyncSession, media: MediaStore, rules: Retention, now: datetime) -> Removed:
    """Remove what is due now, in this transaction; files go after their rows."""
    removed = Removed()
    shas: set[str] = set()
    if rules.photos_days:
        has_photos = exists().where(TicketPhoto.ticket_id == Ticket.id)
        for ticket in await _due(session, now - timedelta(days=rules.photos_days), has_photos):
            photos = (
                (await session.execute(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)))
                .scalars()
                .all()
            )
            shas.update(p.sha256 for p in photos)
            await session.execute(delete(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id))
            log(session, ticket, EVENT, now=now, actor_id=None, removed="photos", count=len(photos))
            removed.photos += len(photos)
    if rules.contacts_days:
        needles: set[str] = set()
        oldest: datetime | None = None
        holds = or_(
            Ticket.phone != "",
            Ticket.room.is_not(None),
            Ticket.location_text != "",
            Ticket.latitude.is_not(None),
        )
        for ticket in await _due(session, now - timedelta(days=rules.contacts_days), holds):
            needles.update(n for n in (ticket.phone, ticket.location_text) if n)
            if ticket.building and ticket.unit and ticket.room:
                needles.add(f"{ticket.building}-{ticket.unit}-{ticket.room}")
            oldest = min(oldest or ticket.created_at, ticket.created_at)
            ticket.phone, ticket.room, ticket.location_text = "", None, ""
            ticket.latitude = ticket.longitude = None
            log(session, ticket, EVENT, now=now, actor_id=None, removed="contacts")
            removed.contacts += 1
        if oldest is not None:
            await scrub_sent_messages(session, sorted(needles, key=len, reverse=True), since=oldest)
    removed.archives = await _old_archives(session, media, now - timedelta(days=ARCHIVE_DAYS))
    await session.flush()
    for sha in sorted(shas):
        used = await session.scalar(
            select(func.count()).select_from(TicketPhoto).where(TicketPhoto.sha256 == sha)
        )
        if not used and media.delete(sha):
            removed.files += 1
    return removed


async def _old_archives(session: AsyncSession, media: MediaStore, cutoff: datetime) -> int:
    """Remove /mydata archives made before the cutoff (their rows and files); how many files went."""
    stmt = select(ActionToken).where(ActionToken.kind == downloads.KIND, ActionToken.created_at < cutoff)
    rows = (await session.execute(stmt.limit(BATCH))).scalars().all()
    gone = 0
    for row in rows:
        await session.delete(row)
        if media.delete(str(row.data.get("sha256", ""))):
            gone += 1
    return gone


async def _due(session: AsyncSession, cutoff: datetime, condition: ColumnElement[bool]) -> list[Ticket]:
    """Finished tickets last touched before the cutoff and finished before it by their stamp."""
    # updated_at is never earlier than the finishing moment, so it narrows the read safely.
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(FINISHED), Ticket.updated_at < cutoff, condition)
        .order_by(Ticket.id)
        .limit(BATCH)
    )
    found = []
    for ticket in (await session.execute(stmt)).scalars():
        stamp = (ticket.stamps or {}).get(ticket.status)
        finished = datetime.fromisoformat(stamp) if isinstance(stamp, str) else ticket.updated_at
        if finished < cutoff:
            found.append(ticket)
    return found
