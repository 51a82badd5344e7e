"""The figures of a period, computed from each ticket's steps (dispatch/figures/load.py).

What counts: tickets filed in the period (each community's local days). Times are in minutes: response is
filed -> first accepted, arrival first accepted -> first on site, completion filed -> first completed. A
promise (the grab window, the contact deadline, urgent arrival, same-day completion) is met when its step came
in time, missed when it came late or has not come and its deadline has passed, and pending otherwise; a
ticket cancelled or rejected before the step does not count. First-time fix: of the completions the resident
(or customer service) has answered, those never sent to rework. Follow-up: of the completed tickets, those
closed by the resident's rating or by customer service's call (target 100 %).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.figures import load
from dispatch.figures.load import Facts
from dispatch.figures.periods import Period
from dispatch.figures.promises import EPOCH_DAY, Promise, Rules, promises
from dispatch.figures.scope import Scope
from dispatch.site import Site

RECURRING_TIMES = 3
RECURRING_DAYS = 90
HAPPY = 4
TOP = 5


@dataclass(frozen=True)
class Times:
    """Minutes: how many measured, mean, median and 90th percentile (None when nothing was measured)."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile (0-1) of sorted values, linear between the two nearest (as numpy's default)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def times(minutes: Iterable[float]) -> Times:
    """Summary of durations in minutes."""
    ordered = sorted(minutes)
    if not ordered:
        return Times(0, None, None, None)
    return Times(len(ordered), sum(ordered) / len(ordered), quantile(ordered, 0.5), quantile(ordered, 0.9))


@dataclass(frozen=True)
class Technician:
    """One technician's period: jobs held, hand-backs, median arrival and completion, rating, rework."""

    id: int
    name: str
    jobs: int
    handbacks: int
    arrival: float | None
    completion: float | None
    rating: float | None
    rated: int
    reworks: int


@dataclass(frozen=True)
class Place:
    """A building (unit None) or a building's entrance, and its tickets."""

    community: str
    building: str
    unit: str | None
    tickets: int


@dataclass(frozen=True)
class Recurring:
    """The same category at one place (a flat; for public areas the entrance) 3 or more times in 90 days."""

    community: str
    building: str
    unit: str | None
    room: str | None
    category: str
    count: int
    last: datetime


@dataclass(frozen=True)
class Comment:
    """A resident's words with their rating."""

    number: str
    rating: int | None
    text: str


@dataclass(frozen=True)
class Matters:
    """Matters (报事) of the period: counts by kind and department, how soon they were accepted and handled
    (minutes from filing), satisfaction and follow-up."""

    total: int
    by_kind: dict[str, int]
    by_department: dict[str, int]
    by_status: dict[str, int]
    response: Times
    handled: Times
    rated: int
    rating_mean: float | None
    happy: int
    completed: int
    followed: int

    @property
    def followup_rate(self) -> float | None:
        """Percent of handled matters followed up (target 100)."""
        return 100 * self.followed / self.completed if self.completed else None


def _matters(facts: list[Facts]) -> Matters:
    rated = [f.rating for f in facts if f.rating is not None]
    completed = [f for f in facts if f.completed is not None]
    return Matters(
        total=len(facts),
        by_kind=dict(Counter(f.matter_kind for f in facts).most_common()),
        by_department=dict(Counter(f.department for f in facts).most_common()),
        by_status=dict(Counter(f.status for f in facts).most_common()),
        response=times(m for f in facts if (m := _minutes(f.assigned, f.created)) is not None),
        handled=times(m for f in facts if (m := _minutes(f.completed, f.created)) is not None),
        rated=len(rated),
        rating_mean=sum(rated) / len(rated) if rated else None,
        happy=sum(1 for r in rated if r >= HAPPY),
        completed=len(completed),
        followed=sum(1 for f in completed if f.followed is not None),
    )


@dataclass(frozen=True)
class Report:
    """Everything the office sees for one scope and period."""

    scope: Scope
    period: Period
    now: datetime
    total: int
    by_category: dict[str, int]
    by_urgency: dict[str, int]
    by_building: dict[tuple[str, str], int]
    by_source: dict[str, int]
    by_status: dict[str, int]
    per_day: tuple[tuple[date, int], ...]
    response: Times
    arrival: Times
    completion: Times
    promises: tuple[Promise, ...]
    judged: int
    first_time_fixed: int
    reworked: int
    rated: int
    rating_mean: float | None
    happy: int
    comments: tuple[Comment, ...]
    completed: int
    followed: int
    technicians: tuple[Technician, ...]
    buildings: tuple[Place, ...]
    units: tuple[Place, ...]
    recurring: tuple[Recurring, ...]
    matters: Matters

    @property
    def first_time_fix_rate(self) -> float | None:
        """Percent of answered completions fixed the first time."""
        return 100 * self.first_time_fixed / self.judged if self.judged else None

    @property
    def rework_rate(self) -> float | None:
        """Percent of answered completions sent to rework."""
        return 100 * self.reworked / self.judged if self.judged else None

    @property
    def happy_share(self) -> float | None:
        """Percent of ratings that are 4 or 5."""
        return 100 * self.happy / self.rated if self.rated else None

    @property
    def followup_rate(self) -> float | None:
        """Percent of completed tickets followed up (target 100)."""
        return 100 * self.followed / self.completed if self.completed else None

    def promise(self, name: str) -> Promise:
        """One promise by name."""
        return next(p for p in self.promises if p.name == name)


def _minutes(later: float | None, earlier: float | None) -> float | None:
    """Minutes between two epoch times (None when either is missing)."""
    if later is None or earlier is None:
        return None
    return (later - earlier) / 60


def _per_day(site: Site, facts: list[Facts], period: Period) -> tuple[tuple[date, int], ...]:
    numbers: Counter[int] = Counter()
    rules = Rules(site)
    zone, community = None, None
    for f in facts:
        if f.community != community:
            zone, community = rules.zone(f.community), f.community
        assert zone is not None
        numbers[zone.day_number(f.created)] += 1
    first = (period.first - EPOCH_DAY).days
    return tuple((period.first + timedelta(days=i), numbers[first + i]) for i in range(period.days))


def _technicians(facts: list[Facts], names: dict[int, str]) -> tuple[Technician, ...]:
    held: dict[int, list[Facts]] = defaultdict(list)
    handed: Counter[int] = Counter()
    for f in facts:
        if f.technician_id is not None:
            held[f.technician_id].append(f)
        handed.update(f.handed_back_by)
    rows = []
    for tid in set(held) | set(handed):
        jobs = held.get(tid, [])
        ratings = [f.rating for f in jobs if f.rating is not None]
        rows.append(
            Technician(
                id=tid,
                name=names.get(tid, "?"),
                jobs=len(jobs),
                handbacks=handed.get(tid, 0),
                arrival=times(m for f in jobs if (m := _minutes(f.on_site, f.assigned)) is not None).median,
                completion=times(
                    m for f in jobs if (m := _minutes(f.completed, f.assigned)) is not None
                ).median,
                rating=sum(ratings) / len(ratings) if ratings else None,
                rated=len(ratings),
                reworks=sum(1 for f in jobs if f.reworks),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.jobs, r.name)))


def _ranked(counter: Counter[tuple[str, str, str | None]]) -> tuple[Place, ...]:
    return tuple(Place(c, b, u, n) for (c, b, u), n in counter.most_common(TOP))


def compute(
    site: Site,
    scope: Scope,
    period: Period,
    facts: list[Facts],
    now: datetime,
    names: dict[int, str] | None = None,
    recurring: Iterable[Recurring] = (),
) -> Report:
    """The report from loaded facts (pure: tests feed it hand-made facts too). Repairs make the repair
    figures; matters (报事) their own."""
    matters = [f for f in facts if f.kind == "matter"]
    facts = [f for f in facts if f.kind != "matter"]
    live = [f for f in facts if f.status != "rejected"]
    judged = [f for f in facts if f.judged is not None]
    rated = [f.rating for f in facts if f.rating is not None]
    completed = [f for f in facts if f.completed is not None]
    buildings: Counter[tuple[str, str, str | None]] = Counter()
    units: Counter[tuple[str, str, str | None]] = Counter()
    for f in live:
        if f.building:
            buildings[(f.community, f.building, None)] += 1
            units[(f.community, f.building, f.unit or "")] += 1

    def counts(values: Iterable[str]) -> dict[str, int]:
        return dict(Counter(values).most_common())

    return Report(
        scope=scope,
        period=period,
        now=now,
        total=len(facts),
        by_category=counts(f.category for f in facts),
        by_urgency=counts(f.urgency for f in facts),
        by_building={(c, b): n for (c, b, _), n in buildings.most_common()},
        by_source=counts(f.source or "unknown" for f in facts),
        by_status=counts(f.status for f in facts),
        per_day=_per_day(site, facts, period),
        response=times(m for f in facts if (m := _minutes(f.assigned, f.created)) is not None),
        arrival=times(m for f in facts if (m := _minutes(f.on_site, f.assigned)) is not None),
        completion=times(m for f in facts if (m := _minutes(f.completed, f.created)) is not None),
        promises=promises(site, facts, now),
        judged=len(judged),
        first_time_fixed=sum(1 for f in judged if not f.reworks),
        reworked=sum(1 for f in judged if f.reworks),
        rated=len(rated),
        rating_mean=sum(rated) / len(rated) if rated else None,
        happy=sum(1 for r in rated if r >= HAPPY),
        comments=tuple(Comment(f.number, f.rating, f.comment) for f in reversed(facts) if f.comment.strip())[
            :20
        ],
        completed=len(completed),
        followed=sum(1 for f in completed if f.followed is not None),
        technicians=_technicians(facts, names or {}),
        buildings=_ranked(buildings),
        units=_ranked(units),
        recurring=tuple(recurring),
        matters=_matters(matters),
    )


async def build(session: AsyncSession, site: Site, scope: Scope, period: Period, now: datetime) -> Report:
    """Read the period's tickets and compute the report (recurring faults over the 90 days to its end)."""
    facts = await load.tickets(session, site, scope, period)
    people = {f.technician_id for f in facts if f.technician_id} | {
        a for f in facts for a in f.handed_back_by
    }
    names = await load.names(session, sorted(people))
    window = Period(period.last - timedelta(days=RECURRING_DAYS - 1), period.last)
    repeats = await load.repeats(session, site, scope, window, RECURRING_TIMES)
    recurring = [Recurring(c, b or "", u, r, cat, n, last) for c, b, u, r, cat, n, last in repeats]
    return compute(site, scope, period, facts, now, names, recurring)
