"""Each asset's schedule as a scheduled job: the timer sweep opens the occurrence's ticket on its due date."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.notices import Notices
from dispatch.planned.rules import SCHEDULE_KIND, schedule_name
from dispatch.planned.work import open_planned
from dispatch.schedules import Calendar, Schedule
from dispatch.site import Site
from storage.models import Timer


def calendar(site: Site) -> Calendar:
    """One schedule per asset of every community."""
    found = tuple(
        Schedule(
            schedule_name(community.code, asset.code),
            SCHEDULE_KIND,
            asset.recurrence,
            partial(_due, site),
            {"community": community.code, "asset": asset.code},
        )
        for community in site.communities
        for asset in community.assets
    )
    return Calendar(found, frozenset({SCHEDULE_KIND}))


def combined(*calendars: Calendar) -> Calendar:
    """Several calendars (digests, planned work) as the one the sweep fires."""
    return Calendar(
        tuple(s for c in calendars for s in c.schedules), frozenset().union(*(c.kinds for c in calendars))
    )


async def _due(site: Site, session: AsyncSession, timer: Timer, now: datetime, notices: Notices) -> str:
    """An occurrence fell due (or was missed while no worker ran): open its ticket."""
    community = site.community(str(timer.data.get("community", "")))
    asset = community.asset(str(timer.data.get("asset", ""))) if community else None
    if community is None or asset is None:
        return "gone"
    ticket = await open_planned(session, community, asset, str(timer.data["occurrence"]), now, notices)
    return f"opened {ticket.number}" if ticket else "exists"
