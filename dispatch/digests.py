"""Digests: a daily summary to supervisors (yesterday's figures, open and overdue tickets, low ratings) and a
weekly one to managers (last week's figures), as scheduled jobs (dispatch/schedules.py): each occurrence is
sent exactly once per deployment, and skipped for a reader whose scope had no activity.

Per community there is one daily and one weekly schedule, at the community's local time, for the staff of that
community; staff of no particular community get one deployment-wide digest ("*" schedules, in the first
community's time zone) rather than one per community.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.figures import Period, Scope, build
from dispatch.figures.load import open_tickets, quiet
from dispatch.figures.promises import promises
from dispatch.lifecycle import OPEN
from dispatch.notices import Notices
from dispatch.schedules import Calendar, Daily, Schedule, Weekly
from dispatch.site import Site
from storage.models import FollowUp, Person, Ticket, Timer

DAILY = "digest_daily"
WEEKLY = "digest_weekly"
EVERYWHERE = "*"
LIST_MAX = 10


@dataclass(frozen=True)
class Settings:
    """When digests go out: a local time for the daily one, a weekday (0 = Monday) and time for the weekly
    one; None turns one off."""

    daily_at: time | None = time(8, 0)
    weekly: tuple[int, time] | None = (0, time(8, 0))


def calendar(site: Site, settings: Settings) -> Calendar:
    """The digest schedules of every community (and the deployment-wide ones)."""
    found: list[Schedule] = []
    places = [(c.code, c.timezone) for c in site.communities] + [(EVERYWHERE, site.default.timezone)]
    for code, tz in places:
        if settings.daily_at is not None:
            found.append(
                Schedule(
                    f"digest.daily.{code}",
                    DAILY,
                    Daily(settings.daily_at, tz),
                    partial(_daily, site),
                    {"community": code},
                )
            )
        if settings.weekly is not None:
            weekday, at = settings.weekly
            found.append(
                Schedule(
                    f"digest.weekly.{code}",
                    WEEKLY,
                    Weekly(weekday, at, tz),
                    partial(_weekly, site),
                    {"community": code},
                )
            )
    return Calendar(tuple(found), frozenset({DAILY, WEEKLY}))


async def _readers(session: AsyncSession, role: staff.Role, code: str) -> list[Person]:
    """Active staff of this role belonging to the community (or, for "*", to none in particular)."""
    owner = Person.community.is_(None) if code == EVERYWHERE else Person.community == code
    stmt = select(Person).where(Person.role == str(role), Person.active.is_(True), owner).order_by(Person.id)
    return list((await session.execute(stmt)).scalars().all())


def _scope(code: str, person: Person) -> Scope:
    return Scope(None if code == EVERYWHERE else code, tuple(person.areas) if person.areas else None)


async def _daily(site: Site, session: AsyncSession, timer: Timer, now: datetime, notices: Notices) -> str:
    """Yesterday (the day before the occurrence) for each supervisor whose areas saw any activity."""
    code = str(timer.data.get("community", ""))
    if code != EVERYWHERE and site.community(code) is None:
        return "gone"
    day = date.fromisoformat(str(timer.data["occurrence"])) - timedelta(days=1)
    period = Period(day, day, "yesterday")
    sent = 0
    for person in await _readers(session, staff.Role.SUPERVISOR, code):
        scope = _scope(code, person)
        if await quiet(session, site, scope, period, sorted(OPEN)):
            continue
        report = await build(session, site, scope, period, now)
        overdue = await _overdue(session, site, scope, now)
        low = await _low_ratings(session, site, scope, period)
        open_now = await _open_count(session, scope)
        notices.person(
            "digest_daily", None, person.id, report=report, overdue=overdue, low=low, open=open_now
        )
        sent += 1
    return f"sent {sent}" if sent else "quiet"


async def _weekly(site: Site, session: AsyncSession, timer: Timer, now: datetime, notices: Notices) -> str:
    """Last week (Monday to Sunday before the occurrence) for each manager whose scope saw any activity."""
    code = str(timer.data.get("community", ""))
    if code != EVERYWHERE and site.community(code) is None:
        return "gone"
    year, week = str(timer.data["occurrence"]).split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1) - timedelta(days=7)
    period = Period(monday, monday + timedelta(days=6), "last_week")
    sent = 0
    for person in await _readers(session, staff.Role.MANAGER, code):
        scope = _scope(code, person)
        if await quiet(session, site, scope, period, sorted(OPEN)):
            continue
        report = await build(session, site, scope, period, now)
        overdue = await _overdue(session, site, scope, now)
        open_now = await _open_count(session, scope)
        notices.person(
            "digest_weekly", None, person.id, report=report, overdue=overdue, low=[], open=open_now
        )
        sent += 1
    return f"sent {sent}" if sent else "quiet"


async def _overdue(
    session: AsyncSession, site: Site, scope: Scope, now: datetime
) -> list[tuple[str, str, int]]:
    """Open tickets of the scope with a promise broken and still outstanding: number, which promise, minutes
    late; the latest first."""
    facts = await open_tickets(session, scope, sorted(OPEN))
    late = [(m.number, p.name, m.late) for p in promises(site, facts, now) for m in p.misses if m.outstanding]
    return sorted(late, key=lambda row: -row[2])


async def _open_count(session: AsyncSession, scope: Scope) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(Ticket).where(scope.where(), Ticket.status.in_(sorted(OPEN)))
    return int((await session.execute(stmt)).scalar_one())


async def _low_ratings(
    session: AsyncSession, site: Site, scope: Scope, period: Period
) -> list[tuple[str, int, str]]:
    """Unhappy ratings given in the period (each opened a follow-up task): number, stars, the words."""
    tz = (site.community(scope.community or "") or site.default).timezone
    start, end = period.bounds(tz)
    stmt = (
        select(Ticket.number, Ticket.rating, Ticket.comment)
        .join(FollowUp, FollowUp.ticket_id == Ticket.id)
        .where(
            scope.where(),
            FollowUp.reason == "unhappy",
            FollowUp.created_at >= start,
            FollowUp.created_at < end,
        )
        .order_by(FollowUp.created_at)
        .limit(LIST_MAX)
    )
    return [(n, int(r or 0), c or "") for n, r, c in (await session.execute(stmt))]
