"""Scheduled jobs as timer rows: recurring occurrences that fire exactly once per deployment.

A schedule (the daily digest, a data-retention job, planned maintenance on a calendar) is a `Schedule`: a
name, the timer kind its rows carry, a `Rule` that says when its occurrences fall, and a handler. Every
occurrence is one row in `timers` with no ticket and a unique `key`, `<schedule name>@<occurrence id>`
(a local date for a daily rule, an ISO week for a weekly one), and so:

- **Written once.** `ensure` inserts an occurrence if its key is absent (INSERT ... ON CONFLICT (key) DO
  NOTHING): every worker may ensure the same occurrence at start-up and one row results, and an occurrence
  that already fired is never written again.
- **Fired once.** The timer sweep claims due rows FOR UPDATE SKIP LOCKED and marks them fired in the
  transaction that acts on them (dispatch/timers.claim_due), as for every other deadline; `fire` runs the
  schedule's handler there and ensures the next occurrence in the same transaction.
- **Not lost.** A row that fell due while no worker ran is still pending, so the first sweep after the
  restart fires it (late, once); the next one is then taken after that moment, not in a burst of every
  missed day. `prepare` (at start-up) ensures each schedule's next occurrence exists, moves pending ones whose
  time the settings changed, and cancels those of a schedule that was turned off.

Use: build the schedules (e.g. `dispatch.digests.schedules(...)`), put them in a `Calendar` with the kinds
they manage, call `prepare` once at start-up and hand the calendar to the sweep (`escalation.fire` passes
ticket-less timers to `fire`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.notices import Notices
from storage.models import Timer
from storage.repositories import upsert

# What an occurrence does when it fires: a short outcome for the logs ("sent 3", "quiet").
Handler = Callable[[AsyncSession, Timer, datetime, Notices], Awaitable[str]]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Rule(Protocol):
    """When a schedule's occurrences fall: each has an id (unique within the schedule) and a time."""

    def next_id(self, after: datetime) -> str:
        """The id of the first occurrence strictly after `after`."""
        ...

    def due(self, occurrence: str) -> datetime:
        """When the occurrence with this id falls due (aware UTC)."""
        ...


@dataclass(frozen=True)
class Daily:
    """Every day at a local time of a time zone; occurrence ids are local dates (2026-11-24)."""

    at: time
    tz: ZoneInfo

    def next_id(self, after: datetime) -> str:
        """Today's occurrence if it is still ahead, else tomorrow's."""
        day = after.astimezone(self.tz).date()
        while self.due(day.isoformat()) <= after:
            day += timedelta(days=1)
        return day.isoformat()

    def due(self, occurrence: str) -> datetime:
        """That day at `at`, local time."""
        return _aware(date.fromisoformat(occurrence), self.at, self.tz)


@dataclass(frozen=True)
class Weekly:
    """Every week on a weekday (0 = Monday) at a local time; occurrence ids are ISO weeks (2026-W48)."""

    weekday: int
    at: time
    tz: ZoneInfo

    def next_id(self, after: datetime) -> str:
        """This week's occurrence if it is still ahead, else next week's."""
        day = after.astimezone(self.tz).date()
        monday = day - timedelta(days=day.weekday())
        while self.due(_week_id(monday)) <= after:
            monday += timedelta(days=7)
        return _week_id(monday)

    def due(self, occurrence: str) -> datetime:
        """The weekday of that ISO week at `at`, local time."""
        year, week = occurrence.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        return _aware(monday + timedelta(days=self.weekday), self.at, self.tz)


def _week_id(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _aware(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tz).astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    """A recurring job: its rows carry `kind` and `data` (plus the schedule's name and the occurrence id)."""

    name: str
    kind: str
    rule: Rule
    handle: Handler
    data: dict[str, Any] = field(default_factory=dict)

    def key(self, occurrence: str) -> str:
        """The unique key of one occurrence's row."""
        return f"{self.name}@{occurrence}"


@dataclass(frozen=True)
class Calendar:
    """The deployment's schedules, and the timer kinds they manage (a kind's rows whose schedule is not
    here any more, e.g. turned off in the settings, are cancelled by `prepare`)."""

    schedules: tuple[Schedule, ...] = ()
    kinds: frozenset[str] = frozenset()

    def get(self, name: str) -> Schedule | None:
        """The schedule with this name, or None."""
        return next((s for s in self.schedules if s.name == name), None)

    def __add__(self, other: Calendar) -> Calendar:
        """Both calendars' schedules and kinds (digests + retention ...)."""
        return Calendar(self.schedules + other.schedules, self.kinds | other.kinds)


async def ensure(session: AsyncSession, schedule: Schedule, occurrence: str, now: datetime) -> bool:
    """Write the occurrence's row unless its key exists already (in any state); True when written."""
    values = {
        "ticket_id": None,
        "kind": schedule.kind,
        "key": schedule.key(occurrence),
        "due_at": schedule.rule.due(occurrence),
        "status": "pending",
        "data": {**schedule.data, "schedule": schedule.name, "occurrence": occurrence},
        "created_at": now,
    }
    stmt = upsert(session, Timer).values(**values).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def prepare(session: AsyncSession, calendar: Calendar, now: datetime) -> None:
    """At start-up: each schedule's next occurrence exists, pending ones are at the configured time, and
    pending rows of managed kinds whose schedule is gone are cancelled. Safe to run on every worker."""
    pending = await _pending(session, calendar.kinds | {s.kind for s in calendar.schedules})
    for row in pending:
        schedule = calendar.get(str((row.data or {}).get("schedule", "")))
        if schedule is None or row.kind != schedule.kind:
            row.status = "cancelled"
            continue
        due = schedule.rule.due(str(row.data.get("occurrence", "")))
        if due != row.due_at and row.due_at > now:  # moved in the settings; a missed one stays due
            row.due_at = due
    await session.flush()
    for schedule in calendar.schedules:
        await ensure(session, schedule, schedule.rule.next_id(now), now)


async def fire(
    session: AsyncSession, calendar: Calendar, timer: Timer, now: datetime, notices: Notices
) -> str:
    """Run a claimed occurrence's handler and write the schedule's next occurrence; "off" when its schedule
    is no longer configured."""
    schedule = calendar.get(str((timer.data or {}).get("schedule", "")))
    if schedule is None:
        return "off"
    outcome = await schedule.handle(session, timer, now, notices)
    await ensure(session, schedule, schedule.rule.next_id(max(now, timer.due_at)), now)
    return outcome


async def _pending(session: AsyncSession, kinds: Iterable[str]) -> list[Timer]:
    stmt = select(Timer).where(
        Timer.ticket_id.is_(None), Timer.status == "pending", Timer.kind.in_(sorted(kinds))
    )
    return list((await session.execute(stmt)).scalars().all())


def parse_time(value: str) -> time:
    """08:00 -> time(8, 0); ValueError for anything else."""
    hours, _, minutes = value.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    return time(int(hours), int(minutes))


def parse_weekly(value: str) -> tuple[int, time]:
    """ "mon 08:00" -> (0, 08:00); ValueError for anything else."""
    day, _, at = value.strip().lower().partition(" ")
    if day[:3] not in WEEKDAYS:
        raise ValueError(f"not a weekday and time (mon 08:00): {value!r}")
    return WEEKDAYS.index(day[:3]), parse_time(at)
