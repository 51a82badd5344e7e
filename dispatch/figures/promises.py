"""Promises kept: each ticket's deadlines (the grab window, the contact deadline, urgent arrival, same-day
completion) against when its steps came, in the community's clock; used by the report and the digests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch import timers
from dispatch.figures.load import Facts
from dispatch.planned.rules import SOURCE as PLANNED
from dispatch.site import Site

PROMISES = ("grab", "contact", "arrival", "same_day")
_ENDED = ("cancelled", "rejected")
EPOCH_DAY = date(1970, 1, 1)
_YEARS = range(2000, 2041)


@dataclass(frozen=True)
class Miss:
    """A promise not kept: the ticket, how late (minutes), and whether it is still outstanding."""

    number: str
    late: int
    outstanding: bool


@dataclass(frozen=True)
class Promise:
    """How one promise fared."""

    name: str
    met: int
    missed: int
    pending: int
    misses: tuple[Miss, ...]

    @property
    def percent(self) -> float | None:
        """Share met of those decided, 0-100 (None when none was decided yet)."""
        decided = self.met + self.missed
        return 100 * self.met / decided if decided else None


class Zone:
    """A time zone's local days and same-day deadlines for epoch times, each worked out once per hour or
    day of time (a report reads tens of thousands of times)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, float] = {}
        self._days: dict[int, date] = {}
        self._ends: dict[int, float] = {}
        # A zone that kept one offset through the years a report covers (China's) needs no lookup per time.
        offsets = {tz.utcoffset(datetime(year, month, 1, tzinfo=UTC)) for year in _YEARS for month in (1, 7)}
        only = offsets.pop() if len(offsets) == 1 else None
        self._fixed = only.total_seconds() if only is not None else None

    def day_number(self, when: float) -> int:
        """Local days since 1970-01-01 of an epoch time."""
        if self._fixed is not None:
            return int((when + self._fixed) // 86400)
        hour = int(when // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            shift = self.tz.utcoffset(datetime.fromtimestamp(hour * 3600, UTC))
            offset = self._offsets[hour] = shift.total_seconds() if shift else 0.0
        return int((when + offset) // 86400)

    def local_day(self, when: float) -> date:
        """The local date of an epoch time."""
        number = self.day_number(when)
        day = self._days.get(number)
        if day is None:
            day = self._days[number] = EPOCH_DAY + timedelta(days=number)
        return day

    def end_of_day(self, when: float) -> float:
        """The same-day deadline of a job taken at `when` (as dispatch.timers.end_of_local_day), epoch."""
        number = self.day_number(when)
        end = self._end(number)
        return end if end > when else self._end(number + 1)

    def _end(self, number: int) -> float:
        found = self._ends.get(number)
        if found is None:
            day = EPOCH_DAY + timedelta(days=number)
            found = self._ends[number] = datetime.combine(day, timers.END_OF_DAY, self.tz).timestamp()
        return found


@dataclass(frozen=True)
class _Limits:
    """Seconds each promise allows, and the community's zone."""

    grab: float
    contact: float
    arrival: float | None  # None: no arrival promise (the default urgency)
    zone: Zone


class Rules:
    """Each community's and urgency's limits, looked up once per pair."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._limits: dict[str, dict[str, _Limits]] = {}
        self._zones: dict[str, Zone] = {}
        self._by_tz: dict[ZoneInfo, Zone] = {}

    def zone(self, community: str) -> Zone:
        """The community's zone."""
        zone = self._zones.get(community)
        if zone is None:
            tz = (self.site.community(community) or self.site.default).timezone
            zone = self._zones[community] = self._by_tz.setdefault(tz, Zone(tz))
        return zone

    def limits(self, community: str, urgency: str) -> _Limits:
        """The limits of an urgency in a community."""
        of_community = self._limits.get(community)
        if of_community is None:
            of_community = self._limits[community] = {}
        found = of_community.get(urgency)
        if found is None:
            c = self.site.community(community) or self.site.default
            u = c.urgency(urgency) or c.default_urgency
            arrival = None if u.is_default else u.arrival.total_seconds()
            zone = self.zone(community)
            found = of_community[urgency] = _Limits(
                u.grab.total_seconds(), u.contact.total_seconds(), arrival, zone
            )
        return found


class _Tally:
    """One promise being counted."""

    def __init__(self, name: str, now: float) -> None:
        self.name, self.now = name, now
        self.met = self.pending = 0
        self.misses: list[Miss] = []

    def judge(self, deadline: float, came: float | None, ended: bool, number: str) -> None:
        """Met, missed (late or still outstanding), pending, or nothing (the ticket ended without it)."""
        if came is not None:
            if came <= deadline:
                self.met += 1
            else:
                self.misses.append(Miss(number, int((came - deadline) // 60), False))
        elif ended:
            return
        elif self.now > deadline:
            self.misses.append(Miss(number, int((self.now - deadline) // 60), True))
        else:
            self.pending += 1

    def result(self) -> Promise:
        """The promise's figures, the latest misses first."""
        misses = tuple(sorted(self.misses, key=lambda m: -m.late))
        return Promise(self.name, self.met, len(misses), self.pending, misses)


def promises(site: Site, facts: Iterable[Facts], now: datetime) -> tuple[Promise, ...]:
    """Met, missed (with the misses, latest first) and pending, per promise. Grab: filed -> accepted within
    the urgency's window; contact and arrival: from the first acceptance; same day: completed by the end of
    the working day the job was first accepted (dispatch.timers.end_of_local_day)."""
    rules = Rules(site)
    tallies = {name: _Tally(name, now.timestamp()) for name in PROMISES}
    grab, contact, arrival, same_day = (tallies[name] for name in PROMISES)
    for f in facts:
        limits = rules.limits(f.community, f.urgency)
        ended = f.status in _ENDED
        grab.judge(f.created + limits.grab, f.assigned, ended, f.number)
        taken = f.assigned
        if taken is None or f.source == PLANNED:
            # Planned work has nobody to contact and its own deadline (dispatch/planned), not the same day.
            continue
        contact.judge(taken + limits.contact, f.contacted, ended, f.number)
        if limits.arrival is not None:
            arrival.judge(taken + limits.arrival, f.on_site, ended, f.number)
        same_day.judge(limits.zone.end_of_day(taken), f.completed, ended, f.number)
    return tuple(tallies[name].result() for name in PROMISES)
