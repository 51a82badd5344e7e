"""Periods of local days: what `/stats week`, `/export 2026-11` and `--from/--to` mean, and their bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
NAMES = ("today", "yesterday", "week", "month")
# What people type for a named period, in either language.
ALIASES = {
    "today": "today",
    "今天": "today",
    "今日": "today",
    "yesterday": "yesterday",
    "昨天": "yesterday",
    "week": "week",
    "本周": "week",
    "month": "month",
    "本月": "month",
}
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


class PeriodError(ValueError):
    """A period that can't be reported on; `reason` is unknown, future, too_long or order."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(f"{reason}: {text}" if text else reason)
        self.reason = reason
        self.text = text


@dataclass(frozen=True)
class Period:
    """Local days `first` to `last`, both included; `name` is how it was asked for."""

    first: date
    last: date
    name: str = ""

    @property
    def days(self) -> int:
        """How many days it spans."""
        return (self.last - self.first).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """From the first day's midnight to the midnight after the last day, in `tz`, as aware times."""
        return (
            datetime.combine(self.first, time(0), tz),
            datetime.combine(self.last + timedelta(days=1), time(0), tz),
        )

    @property
    def code(self) -> str:
        """Compact and exact, for button data: 20261116-20261122."""
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"

    def label(self) -> str:
        """2026-11-16 – 2026-11-22, or one date."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def named(name: str, today: date) -> Period:
    """today, yesterday, week (Monday to today), month (the 1st to today)."""
    if name == "today":
        return Period(today, today, name)
    if name == "yesterday":
        day = today - timedelta(days=1)
        return Period(day, day, name)
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), today, name)
    if name == "month":
        return Period(today.replace(day=1), today, name)
    raise PeriodError("unknown", name)


def last_week(today: date) -> Period:
    """Monday to Sunday of the week before this one."""
    monday = today - timedelta(days=today.weekday() + 7)
    return Period(monday, monday + timedelta(days=6), "last_week")


def month(year: int, number: int, today: date) -> Period:
    """A calendar month; refused when it has not begun."""
    if not 1 <= number <= 12 or not 2000 <= year <= 2999:
        raise PeriodError("unknown", f"{year}-{number}")
    first = date(year, number, 1)
    if first > today:
        raise PeriodError("future", first.strftime("%Y-%m"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), first.strftime("%Y-%m"))


def between(first: date, last: date, today: date, name: str = "") -> Period:
    """A range of days, checked: not reversed, not starting in the future, at most a year long."""
    if last < first:
        raise PeriodError("order", f"{first} {last}")
    if first > today:
        raise PeriodError("future", first.isoformat())
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("too_long", f"{first} {last}")
    return Period(first, last, name or f"{first.isoformat()}..{last.isoformat()}")


def parse(text: str, today: date, default: str = "week") -> Period:
    """What a person typed after /stats or /export: a name, YYYY-MM, or two dates (YYYY-MM-DD)."""
    words = text.replace("..", " ").replace("~", " ").split()
    if not words:
        return named(default, today)
    if len(words) == 1 and words[0].lower() in ALIASES:
        return named(ALIASES[words[0].lower()], today)
    if len(words) == 1 and (match := _MONTH.fullmatch(words[0])):
        return month(int(match.group(1)), int(match.group(2)), today)
    if len(words) == 2:
        return between(parse_day(words[0]), parse_day(words[1]), today)
    raise PeriodError("unknown", text.strip()[:40])


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date; PeriodError("unknown") otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError("unknown", text.strip()[:40]) from None


def from_code(code: str, today: date) -> Period:
    """A period back from its `code` (button data), checked like any other."""
    first, _, last = code.partition("-")
    try:
        return between(date.fromisoformat(first), date.fromisoformat(last), today)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError("unknown", code) from None
