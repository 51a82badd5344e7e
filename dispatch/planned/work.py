"""A planned ticket: opened once per occurrence, offered like a repair, chased when not done in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.lifecycle import Status, log
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.planned.rules import PLAN_DUE, SOURCE, plan_key, system_person
from dispatch.site import Community
from dispatch.site.assets import Asset
from dispatch.tickets import Draft, submit
from storage.models import Ticket, Timer

# Work that is done (or will not be): an overdue chase about it would be noise.
FINISHED = frozenset({Status.COMPLETED, Status.CONFIRMED, Status.FOLLOWED_UP, Status.CLOSED}) | {
    Status.CANCELLED,
    Status.REJECTED,
}


async def open_planned(
    session: AsyncSession,
    community: Community,
    asset: Asset,
    occurrence: str,
    now: datetime,
    notices: Notices,
) -> Ticket | None:
    """Open the ticket of one occurrence and offer it; None when that occurrence already has its ticket.

    The timer sweep fires an occurrence once; the unique plan_key makes a second attempt (another worker, a
    replayed row) fail inside a savepoint instead of opening a second ticket.
    """
    key = plan_key(community.code, asset.code, occurrence)
    if await by_key(session, key) is not None:
        return None
    filer = await system_person(session, now)
    draft = Draft(
        community=community.code,
        scope="public",
        phone="",
        description=asset.name,
        category=asset.category,
        urgency=community.default_urgency.code,
        building=asset.building,
        location_text=asset.name,
        source=SOURCE,
    )
    try:
        async with session.begin_nested():
            ticket = await submit(session, community, filer.id, draft, now=now, language="zh_CN")
            ticket.plan_key = key
            ticket.area = asset.area
            await session.flush()
    except IntegrityError:
        return None
    due = asset.recurrence.due(occurrence)
    log(session, ticket, "planned", now=now, actor_id=None, asset=asset.code, occurrence=occurrence)
    timers.start(session, ticket.id, PLAN_DUE, due + asset.within, now=now, asset=asset.code)
    await dispatch_ticket(session, community, ticket, now, notices)
    return ticket


async def by_key(session: AsyncSession, key: str) -> Ticket | None:
    """The planned ticket of an occurrence, if it was opened."""
    return (await session.execute(select(Ticket).where(Ticket.plan_key == key))).scalar_one_or_none()


async def overdue(
    session: AsyncSession, community: Community, ticket: Ticket, timer: Timer, now: datetime, notices: Notices
) -> str:
    """The PLAN_DUE timer: planned work still not done is put before the area's supervisors (once)."""
    if ticket.status in FINISHED:
        return "moot"
    supervisors = await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community)
    late = max(0, int((now - timer.due_at).total_seconds() // 60))
    for person in supervisors:
        notices.person("plan_overdue", ticket.id, person.id, technician_id=ticket.technician_id)
    for group in await staff.groups(session, community.code, "supervisors"):
        notices.chat(
            "plan_overdue", ticket.id, group.channel, group.chat_id, technician_id=ticket.technician_id
        )
    log(session, ticket, "plan_overdue", now=now, actor_id=None, to=[p.id for p in supervisors], minutes=late)
    return "chased"
