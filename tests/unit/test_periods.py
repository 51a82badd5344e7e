"""Periods as people type them after /stats and /export, and the bad ones refused with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch.figures.periods import Period, PeriodError, from_code, last_week, parse

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("", date(2026, 11, 23), TODAY),  # the default: this week, Monday to today
        ("today", TODAY, TODAY),
        ("今天", TODAY, TODAY),
        ("yesterday", date(2026, 11, 24), date(2026, 11, 24)),
        ("week", date(2026, 11, 23), TODAY),
        ("本周", date(2026, 11, 23), TODAY),
        ("month", date(2026, 11, 1), TODAY),
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2026-2", date(2026, 2, 1), date(2026, 2, 28)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        ("2026-11-01 2026-11-15", date(2026, 11, 1), date(2026, 11, 15)),
        ("2026-11-01..2026-11-15", date(2026, 11, 1), date(2026, 11, 15)),
    ],
)
def test_what_people_type_means_these_days(text: str, first: date, last: date) -> None:
    period = parse(text, TODAY)
    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("fortnight", "unknown"),
        ("2026-13", "unknown"),
        ("2026-11-31 2026-12-01", "unknown"),
        ("a b c", "unknown"),
        ("2026-12", "future"),
        ("2027-01-01 2027-01-31", "future"),
        ("2025-01-01 2026-01-02", "too_long"),
        ("2026-11-15 2026-11-01", "order"),
    ],
)
def test_bad_periods_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse(text, TODAY)
    assert caught.value.reason == reason


def test_a_year_is_the_longest_range() -> None:
    assert parse("2025-11-26 2026-11-25", TODAY).days == 365
    assert parse("2024-01-01 2024-12-31", TODAY).days == 366  # a leap year still fits


def test_bounds_are_local_midnights() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start, end = Period(date(2026, 11, 24), date(2026, 11, 24)).bounds(shanghai)
    assert start == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_the_code_on_a_button_gives_back_the_same_days() -> None:
    period = parse("week", TODAY)
    again = from_code(period.code, TODAY)
    assert (again.first, again.last) == (period.first, period.last)
    with pytest.raises(PeriodError):
        from_code("2026xx-1", TODAY)


def test_last_week_is_monday_to_sunday_before_this_one() -> None:
    period = last_week(TODAY)
    assert (period.first, period.last) == (date(2026, 11, 16), date(2026, 11, 22))
