"""What planned work is due this week and what was missed, for the assets a supervisor or manager oversees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.planned.rules import plan_key, split_key
from dispatch.planned.work import FINISHED
from dispatch.site import Community, Site
from dispatch.site.assets import Asset
from storage.models import Person, Ticket


@dataclass(frozen=True)
class Occurrence:
    """One due date of an asset and the ticket it opened (None before it falls due)."""

    community: Community
    asset: Asset
    occurrence: str
    due: datetime
    ticket: Ticket | None

    @property
    def deadline(self) -> datetime:
        """When the work should have been done by."""
        return self.due + self.asset.within


@dataclass(frozen=True)
class Outlook:
    """This week's occurrences (each community's local Monday to Sunday) and past work still not done."""

    week: list[Occurrence]
    missed: list[Occurrence]


def assets_of(site: Site, person: Person) -> list[tuple[Community, Asset]]:
    """The assets a supervisor (their areas) or manager (their community, or all) answers for."""
    return [
        (community, asset)
        for community in site.communities
        for asset in community.assets
        if staff.oversees(person, asset.area, community.code)
    ]


async def outlook(session: AsyncSession, site: Site, person: Person, now: datetime) -> Outlook:
    """Due this week, and missed (opened, past the deadline, not done), for what `person` oversees."""
    mine = assets_of(site, person)
    week: list[Occurrence] = []
    for community, asset in mine:
        today = now.astimezone(community.timezone).date()
        monday = today - timedelta(days=today.weekday())
        for occurrence in asset.recurrence.between(monday, monday + timedelta(days=6)):
            week.append(Occurrence(community, asset, occurrence, asset.recurrence.due(occurrence), None))
    keys = [plan_key(o.community.code, o.asset.code, o.occurrence) for o in week]
    opened = await _tickets(session, keys)
    week = [
        Occurrence(o.community, o.asset, o.occurrence, o.due, opened.get(key))
        for o, key in zip(week, keys, strict=True)
    ]
    missed: list[Occurrence] = []
    places = {(c.code, a.code): (c, a) for c, a in mine}
    stmt = (
        select(Ticket)
        .where(Ticket.plan_key.is_not(None), Ticket.status.not_in([str(s) for s in FINISHED]))
        .order_by(Ticket.created_at)
    )
    for ticket in (await session.execute(stmt)).scalars():
        code, asset_code, occurrence = split_key(str(ticket.plan_key))
        place = places.get((code, asset_code))
        if place is None:
            continue
        found = Occurrence(place[0], place[1], occurrence, place[1].recurrence.due(occurrence), ticket)
        if found.deadline <= now:
            missed.append(found)
    return Outlook(sorted(week, key=lambda o: o.due), missed)


async def _tickets(session: AsyncSession, keys: list[str]) -> dict[str, Ticket]:
    if not keys:
        return {}
    stmt = select(Ticket).where(Ticket.plan_key.in_(keys))
    return {str(t.plan_key): t for t in (await session.execute(stmt)).scalars()}
