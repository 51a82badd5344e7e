"""When scheduled jobs fall: daily and weekly rules in a community's time zone, and the settings' syntax."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.schedules import Daily, Weekly, parse_time, parse_weekly

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_daily_is_today_while_ahead_then_tomorrow() -> None:
    rule = Daily(time(8, 0), SHANGHAI)
    before = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 on the 24th in Shanghai
    assert rule.next_id(before) == "2026-11-24"
    assert rule.due("2026-11-24") == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert rule.next_id(datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) == "2026-11-25"  # strictly after


def test_daily_keeps_the_local_time_across_a_clock_change() -> None:
    rule = Daily(time(8, 0), BERLIN)
    assert rule.due("2026-03-28").hour == 7  # 08:00 CET is 07:00 UTC
    assert rule.due("2026-03-30").hour == 6  # 08:00 CEST is 06:00 UTC


def test_weekly_is_this_weeks_day_while_ahead() -> None:
    rule = Weekly(0, time(8, 0), SHANGHAI)  # Mondays
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    week = rule.next_id(sunday)
    assert week == "2026-W48"
    assert rule.due(week) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert rule.next_id(rule.due(week)) == "2026-W49"


@pytest.mark.parametrize("bad", ["8", "25:00", "08:5", "eight"])
def test_times_are_hh_mm(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_weekly_settings_name_a_day_and_a_time() -> None:
    assert parse_weekly("mon 08:00") == (0, time(8, 0))
    assert parse_weekly("Friday 17:30") == (4, time(17, 30))
    with pytest.raises(ValueError):
        parse_weekly("someday 08:00")
