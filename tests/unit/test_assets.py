"""Planned maintenance in the site file: schedules as offices write them, assets and their checklists."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.site import SiteError, load_site, parse_site
from dispatch.site.assets import Check, parse_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23, 09:00 in Shanghai.
MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "unit", "every", "day", "at"),
    [
        ("every month on 5", "month", 1, 5, time(9, 0)),
        ("monthly on the 5th", "month", 1, 5, time(9, 0)),
        ("Every 3 months on 1 at 10:00", "month", 3, 1, time(10, 0)),
        ("weekly on mon", "week", 1, 0, time(9, 0)),
        ("every 2 weeks on friday at 14:30", "week", 2, 4, time(14, 30)),
        ("monthly on the 31st", "month", 1, 31, time(9, 0)),
    ],
)
def test_schedules_are_read_as_offices_write_them(
    text: str, unit: str, every: int, day: int, at: time
) -> None:
    rule = parse_schedule(text, SHANGHAI)
    assert (rule.unit, rule.every, rule.day, rule.at) == (unit, every, day, at)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sometimes",
        "every month",
        "monthly on the 32nd",
        "weekly on 5",
        "monthly on fri",
        "every 0 weeks on mon",
        "every month on 5 at 25:00",
        "daily at 09:00",
    ],
)
def test_a_schedule_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text, SHANGHAI)


def test_monthly_falls_on_the_day_at_local_time() -> None:
    rule = parse_schedule("monthly on the 5th", SHANGHAI)
    assert rule.next_id(MONDAY) == "2026-12"
    assert rule.due("2026-12") == datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert rule.next_id(rule.due("2026-12")) == "2027-01"  # strictly after


def test_a_short_month_takes_its_last_day() -> None:
    rule = parse_schedule("monthly on the 31st", SHANGHAI)
    assert rule.day_of("2027-02") == date(2027, 2, 28)


def test_every_three_months_counts_quarters_or_from_the_start() -> None:
    quarters = parse_schedule("every 3 months on 1 at 10:00", SHANGHAI)
    assert quarters.next_id(MONDAY) == "2027-01"
    assert quarters.next_id(quarters.due("2027-01")) == "2027-04"
    started = parse_schedule("every 3 months on 1", SHANGHAI, start=date(2026, 12, 1))
    assert started.next_id(MONDAY) == "2026-12"
    assert started.next_id(started.due("2026-12")) == "2027-03"


def test_weekly_and_fortnightly() -> None:
    weekly = parse_schedule("weekly on mon", SHANGHAI)
    assert (
        weekly.next_id(MONDAY - (MONDAY - MONDAY.replace(hour=0))) == "2026-11-23"
    )  # 08:00 local: still ahead
    assert weekly.next_id(MONDAY) == "2026-11-30"  # 09:00 exactly: the next one
    fortnight = parse_schedule("every 2 weeks on fri", SHANGHAI, start=date(2026, 11, 23))
    assert fortnight.next_id(MONDAY) == "2026-11-27"
    assert fortnight.next_id(fortnight.due("2026-11-27")) == "2026-12-11"
    assert fortnight.between(date(2026, 11, 23), date(2026, 12, 31)) == [
        "2026-11-27",
        "2026-12-11",
        "2026-12-25",
    ]


def test_nothing_falls_before_the_start() -> None:
    rule = parse_schedule("monthly on 5", SHANGHAI, start=date(2027, 3, 1))
    assert rule.next_id(MONDAY) == "2027-03"


def test_value_checks_pass_within_their_range() -> None:
    gap = Check("制动器间隙", "Brake gap", "mm", 0.2, 0.7)
    assert gap.is_value and gap.passes(0.2) and gap.passes(0.7) and not gap.passes(0.8)
    assert not Check("警铃", "Bell").is_value


def test_the_demo_has_an_elevator_and_a_fire_pump() -> None:
    demo = load_site(None).default
    lift, pump = demo.assets
    assert (lift.code, lift.building, lift.area, lift.category) == ("lift-1-1", "1", "north", "elevator")
    assert len(lift.checks) == 3 and lift.checks[1].unit == "mm"
    assert (pump.building, pump.area, pump.recurrence.every) == (None, "south", 3)


SITE = """
[[community]]
code = "c"
name = "C"
timezone = "Asia/Shanghai"
office_phone = "1"
[[community.building]]
code = "1"
name = "1"
area = "north"
  [[community.building.unit]]
  code = "1"
  name = "1"
  floors = 1
  rooms_per_floor = 1
[[community.category]]
code = "elevator"
name = "电梯"
skill = "elevator"
[[community.urgency]]
code = "normal"
name = "一般"
grab = "5m"
manager = "10m"
contact = "30m"
arrival = "2h"
stall = "2h"
[[community.asset]]
code = "lift-1-1"
name = "电梯"
building = "1"
skill = "elevator"
schedule = "{schedule}"
  [[community.asset.check]]
  item = "运行"
"""


def test_a_bad_schedule_names_the_asset() -> None:
    with pytest.raises(SiteError) as caught:
        parse_site(SITE.format(schedule="every blue moon"), "site.toml")
    assert 'asset "lift-1-1".schedule' in str(caught.value) and "every blue moon" in str(caught.value)


def test_an_asset_needs_a_known_skill_and_place() -> None:
    with pytest.raises(SiteError, match="skill"):
        parse_site(
            SITE.format(schedule="weekly on mon").replace(
                'skill = "elevator"\nschedule', 'skill = "x"\nschedule'
            )
        )
    with pytest.raises(SiteError, match="unknown building"):
        parse_site(
            SITE.format(schedule="weekly on mon").replace('building = "1"\nskill', 'building = "9"\nskill')
        )


def test_a_row_written_before_the_schedule_changed_kind_still_has_a_date() -> None:
    weekly = parse_schedule("weekly on mon", SHANGHAI)
    assert weekly.day_of("2026-12") == date(2026, 12, 7)  # the first Monday of that month
    monthly = parse_schedule("monthly on the 5th", SHANGHAI)
    assert monthly.day_of("2026-11-30") == date(2026, 11, 5)
