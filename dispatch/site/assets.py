"""Planned maintenance in the site file: assets (an elevator, a pump room), when each is due, its checklist.

A schedule is written the way an office says it: "every month on 5", "monthly on the 5th", "every 3 months on
1 at 10:00", "weekly on mon", "every 2 weeks on fri at 14:00" (09:00 when no time is given), in the
community's time zone. A `Recurrence` is a `dispatch.schedules.Rule`: monthly occurrences are named by their
month (2026-12), weekly ones by their date (2026-11-27); either kind is never due before `start`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.schedules import WEEKDAYS, parse_time
from dispatch.site.parse import Reader, is_english

DEFAULT_AT = time(9, 0)
DEFAULT_WITHIN = timedelta(days=3)
_ASSET_CODE = r"[a-z0-9-]{1,40}"
# Months and weeks are counted from here when no start is given: quarters fall in Jan, Apr, Jul, Oct.
_EPOCH_MONDAY = date(1970, 1, 5)
_SCHEDULE = re.compile(
    r"(?:every\s+(?:(?P<n>\d+)\s+)?(?P<unit>months?|weeks?)|(?P<ly>monthly|weekly))"
    r"\s+on\s+(?:the\s+)?(?P<day>[a-z0-9]+?)(?:st|nd|rd|th)?"
    r"(?:\s+at\s+(?P<at>\d{1,2}:\d{2}))?"
)
SCHEDULE_HINT = 'e.g. "every month on 5", "every 3 months on 1 at 10:00", "weekly on mon"'


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Every `every` months on day `day` (1-31, the month's last day when shorter), or every `every` weeks
    on weekday `day` (0 = Monday), at a local time; never before `start`."""

    unit: str  # "month" or "week"
    every: int
    day: int
    at: time
    tz: ZoneInfo
    start: date | None = None

    def next_id(self, after: datetime) -> str:
        """The id of the first occurrence strictly after `after`."""
        local = after.astimezone(self.tz).date()
        occurrence = self._first_on_or_after(local - timedelta(days=1))
        while self.due(occurrence) <= after:
            occurrence = self._following(occurrence)
        return occurrence

    def due(self, occurrence: str) -> datetime:
        """When an occurrence falls due (aware UTC)."""
        return datetime.combine(self.day_of(occurrence), self.at, self.tz).astimezone(UTC)

    def day_of(self, occurrence: str) -> date:
        """The local date an occurrence falls on."""
        # An id of the other kind is a row written before the site file changed the schedule from monthly
        # to weekly (or back): read it as that month's (or that date's) occurrence rather than fail start-up.
        if self.unit == "week":
            if len(occurrence) == 7:
                return date.fromisoformat(self._first_on_or_after(date.fromisoformat(occurrence + "-01")))
            return date.fromisoformat(occurrence)
        year, month = (int(part) for part in occurrence.split("-")[:2])
        return date(year, month, min(self.day, calendar.monthrange(year, month)[1]))

    def between(self, first: date, last: date) -> list[str]:
        """The occurrences falling on local dates from `first` to `last` (both included)."""
        found: list[str] = []
        occurrence = self._first_on_or_after(first)
        while self.day_of(occurrence) <= last:
            found.append(occurrence)
            occurrence = self._following(occurrence)
        return found

    def _first_on_or_after(self, day: date) -> str:
        day = max(day, self.start) if self.start else day
        if self.unit == "week":
            anchor = self._anchor_monday()
            monday = day - timedelta(days=day.weekday())
            weeks = (monday - anchor).days // 7
            monday = anchor + timedelta(weeks=-(-weeks // self.every) * self.every)
            candidate = monday + timedelta(days=self.day)
            while candidate < day:
                candidate += timedelta(weeks=self.every)
            return candidate.isoformat()
        index = self._month_index(day.year, day.month)
        index = -(-index // self.every) * self.every
        occurrence = self._month_id(index)
        while self.day_of(occurrence) < day:
            index += self.every
            occurrence = self._month_id(index)
        return occurrence

    def _following(self, occurrence: str) -> str:
        if self.unit == "week":
            return (date.fromisoformat(occurrence) + timedelta(weeks=self.every)).isoformat()
        year, month = (int(part) for part in occurrence.split("-"))
        return self._month_id(self._month_index(year, month) + self.every)

    def _anchor_monday(self) -> date:
        base = self.start or _EPOCH_MONDAY
        return base - timedelta(days=base.weekday())

    def _month_index(self, year: int, month: int) -> int:
        """Months since the anchor month (the start's, else a January)."""
        base_year, base_month = (self.start.year, self.start.month) if self.start else (1970, 1)
        return (year - base_year) * 12 + (month - base_month)

    def _month_id(self, index: int) -> str:
        base_year, base_month = (self.start.year, self.start.month) if self.start else (1970, 1)
        months = base_year * 12 + base_month - 1 + index
        return f"{months // 12:04d}-{months % 12 + 1:02d}"


def parse_schedule(text: str, tz: ZoneInfo, start: date | None = None) -> Recurrence:
    """ "every 3 months on 1 at 10:00" -> a Recurrence; ValueError naming what is wrong otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"not a schedule ({SCHEDULE_HINT})")
    folded = " ".join(text.strip().lower().split())
    match = _SCHEDULE.fullmatch(folded)
    if match is None:
        raise ValueError(f'"{text}" is not a schedule ({SCHEDULE_HINT})')
    unit = (match["unit"] or match["ly"]).removesuffix("ly").removesuffix("s")
    every = int(match["n"]) if match["n"] else 1
    if not 1 <= every <= (24 if unit == "month" else 52):
        raise ValueError(f'"{text}": the interval must be 1-24 months or 1-52 weeks')
    raw = match["day"]
    if unit == "month":
        if not raw.isdigit() or not 1 <= int(raw) <= 31:
            raise ValueError(f'"{text}": a monthly schedule needs a day of the month, 1-31')
        day = int(raw)
    else:
        if raw[:3] not in WEEKDAYS or raw.isdigit():
            raise ValueError(f'"{text}": a weekly schedule needs a weekday (mon, tue ... sun)')
        day = WEEKDAYS.index(raw[:3])
    try:
        at = parse_time(match["at"]) if match["at"] else DEFAULT_AT
    except ValueError as exc:
        raise ValueError(f'"{text}": {exc}') from None
    return Recurrence(unit, every, day, at, tz, start)


@dataclass(frozen=True, slots=True)
class Check:
    """One item of an asset's checklist: pass / fail, or a value (with its unit) that must lie in a range."""

    item: str
    item_en: str
    unit: str = ""
    min: float | None = None
    max: float | None = None

    @property
    def is_value(self) -> bool:
        """True when the answer is a number rather than pass / fail."""
        return bool(self.unit) or self.min is not None or self.max is not None

    def display(self, lang: str) -> str:
        """The item's words in `lang`."""
        return self.item_en if is_english(lang) and self.item_en else self.item

    def passes(self, value: float) -> bool:
        """Whether a measured value is within the range."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True, slots=True)
class Asset:
    """Something the office maintains on a calendar: where it is, who can work on it, when, and its checks."""

    code: str
    name: str
    name_en: str
    building: str | None
    area: str
    skill: str
    category: str  # the community's first category needing `skill`: who may be offered the work
    schedule: str
    recurrence: Recurrence
    within: timedelta
    checks: tuple[Check, ...]

    def display(self, lang: str) -> str:
        """The asset's name in `lang`."""
        return self.name_en if is_english(lang) and self.name_en else self.name


def read_assets(
    community: Reader, tz: ZoneInfo, areas: dict[str, str], skills: dict[str, str]
) -> tuple[Asset, ...]:
    """The community's `[[community.asset]]` tables; `areas` maps building codes to areas, `skills` maps
    each skill to the first category needing it."""
    return tuple(
        _asset(code, r, tz, areas, skills) for code, r in community.optional_coded("asset", _ASSET_CODE)
    )


def _asset(code: str, r: Reader, tz: ZoneInfo, areas: dict[str, str], skills: dict[str, str]) -> Asset:
    r.check_keys(
        ["code", "name", "name_en", "building", "area", "skill", "schedule", "start", "within", "check"]
    )
    name = r.text("name")
    building = r.text("building", default="") or None
    if building is not None and building not in areas:
        r.fail("building", f'unknown building "{building}" (known: {", ".join(areas)})')
    if (building is None) == ("area" not in r.data):
        r.fail("building", "give either a building or an area")
    area = areas[building] if building is not None else r.text("area")
    skill = r.text("skill")
    if skill not in skills:
        r.fail("skill", f'no category needs "{skill}" (known skills: {", ".join(skills)})')
    start = _start(r)
    schedule = r.text("schedule")
    try:
        recurrence = parse_schedule(schedule, tz, start)
    except ValueError as exc:
        r.fail("schedule", str(exc))
    checks = tuple(_check(c) for c in r.tables("check"))
    return Asset(
        code,
        name,
        r.text("name_en", default=name),
        building,
        area,
        skill,
        skills[skill],
        schedule,
        recurrence,
        r.duration("within", default=DEFAULT_WITHIN),
        checks,
    )


def _start(r: Reader) -> date | None:
    value = r.data.get("start")
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        r.fail("start", f'"{value}" is not a date (YYYY-MM-DD)')


def _check(r: Reader) -> Check:
    r.check_keys(["item", "item_en", "unit", "min", "max"])
    item = r.text("item")
    low, high = _number(r, "min"), _number(r, "max")
    if low is not None and high is not None and low > high:
        r.fail("min", f"is above max ({low} > {high})")
    return Check(item, r.text("item_en", default=item), r.text("unit", default=""), low, high)


def _number(r: Reader, key: str) -> float | None:
    value = r.data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.fail(key, "must be a number")
    return float(value)
