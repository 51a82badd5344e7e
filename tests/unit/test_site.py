"""The site file: the demo community, the example file, suggestions, rooms, durations and every error."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections import Counter
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from dispatch.site import (
    Community,
    Site,
    SiteError,
    Suggestion,
    format_duration,
    load_site,
    localized,
    normalize_room,
    parse_duration,
    parse_site,
)

REPO = Path(__file__).resolve().parents[2]

COMMUNITY = """
[[community]]
code = "demo"
name = "和谐家园"
timezone = "Asia/Shanghai"
office_phone = "0755-0000000"
"""
BUILDING = """
[[community.building]]
code = "1"
name = "1号楼"
area = "north"
"""
UNIT = """
[[community.building.unit]]
code = "1"
name = "1单元"
floors = 3
rooms_per_floor = 2
"""
CATEGORY = """
[[community.category]]
code = "plumbing"
name = "水电"
skill = "plumbing_electric"
"""
URGENCY = """
[[community.urgency]]
code = "normal"
name = "一般"
grab = "5m"
manager = "30m"
contact = "2h"
arrival = "24h"
stall = "2h"
"""
TIP = """
[[community.tip]]
category = "plumbing"
keywords = ["跳闸"]
text = "请检查空气开关。"
"""
MINIMAL = COMMUNITY + BUILDING + UNIT + CATEGORY + URGENCY


@pytest.fixture(scope="module")
def demo() -> Community:
    return load_site().default


def parse(text: str) -> Site:
    return parse_site(text, "test.toml")


# ------------------------------------------------------------------ the demo


def test_demo_has_three_buildings_in_two_areas(demo: Community) -> None:
    assert demo.code == "demo"
    assert demo.timezone.key == "Asia/Shanghai"
    assert demo.ticket_prefix == "BX"
    assert demo.offer_mode == "both"
    assert demo.office_phone
    assert len(demo.buildings) == 3
    assert demo.areas == ("north", "south")
    for building in demo.buildings:
        assert len(building.units) == 2
        for unit in building.units:
            per_floor = Counter(room[:-2] for room in unit.rooms)
            assert 6 <= len(per_floor) <= 18
            assert 2 <= max(per_floor.values()) <= 4


def test_demo_rooms_are_generated(demo: Community) -> None:
    building = demo.building("1")
    assert building is not None
    unit = building.unit("1")
    assert unit is not None
    assert unit.rooms[:5] == ("101", "102", "103", "104", "201")
    assert unit.rooms[-1] == "1804"
    assert len(unit.rooms) == 18 * 4


def test_demo_categories_cover_the_trades(demo: Community) -> None:
    skills = {c.skill for c in demo.categories}
    assert {"plumbing_electric", "civil_carpentry", "hvac", "fire", "elevator", "general"} <= skills
    names = {c.name for c in demo.categories}
    assert {"水电", "土建", "暖通", "消防", "电梯"} <= names
    assert all(c.name_en != c.name for c in demo.categories)


@pytest.mark.parametrize(
    ("code", "grab", "manager", "contact", "arrival", "stall"),
    [
        ("emergency", "3m", "10m", "10m", "20m", "1h"),
        ("urgent", "5m", "15m", "30m", "2h", "2h"),
        ("normal", "5m", "30m", "2h", "24h", "2h"),
    ],
)
def test_demo_urgency_limits(
    demo: Community, code: str, grab: str, manager: str, contact: str, arrival: str, stall: str
) -> None:
    urgency = demo.urgency(code)
    assert urgency is not None
    limits = (urgency.grab, urgency.manager, urgency.contact, urgency.arrival, urgency.stall)
    assert limits == tuple(parse_duration(s) for s in (grab, manager, contact, arrival, stall))


def test_demo_urgency_order_and_default(demo: Community) -> None:
    assert [u.code for u in demo.urgencies] == ["emergency", "urgent", "normal"]
    assert demo.default_urgency.code == "normal"
    assert [u.is_default for u in demo.urgencies] == [False, False, True]


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("plumbing", "跳闸了"),
        ("plumbing", "家里没水"),
        ("plumbing", "下水道堵了"),
        ("plumbing", "闻到煤气味"),
        ("other", "车库遥控器没反应"),
        ("hvac", "空调不制冷"),
        ("fire", "烟感一直嘀嘀响"),
    ],
)
def test_demo_self_check_tips(demo: Community, category: str, text: str) -> None:
    tip = demo.tip_for(category, text)
    assert tip is not None
    assert tip.text and tip.text_en and tip.text_en != tip.text


def test_demo_is_packaged_as_data() -> None:
    # setuptools ships *.toml through package-data; the demo must live inside the package to be found.
    assert resources.files("dispatch.site").joinpath("demo_site.toml").is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.toml" in pyproject["tool"]["setuptools"]["package-data"]["*"]


def test_example_file_parses() -> None:
    site = load_site(REPO / "site.example.toml")
    community = site.default
    assert community.code == "maple"
    assert community.default_urgency.code == "normal"
    assert {c.skill for c in community.categories} >= {"plumbing_electric", "elevator", "fire"}
    assert community.tip_for("plumbing", "停电了") is not None


# ------------------------------------------------------------- suggestions


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("厨房水管爆管了，水漫一地", "plumbing", "emergency"),
        ("卧室插座没电", "plumbing", "normal"),
        ("The elevator is stuck and someone is trapped", "elevator", "emergency"),
        ("THE ELEVATOR IS STUCK", "elevator", "normal"),
        ("卫生间漏水", "plumbing", "urgent"),
        ("门禁坏了", "other", "normal"),
        ("墙面开裂，瓷砖脱落", "civil", "normal"),
        ("空调不制冷", "hvac", "urgent"),
        ("你好，请问物业几点下班", None, "normal"),
        ("", None, "normal"),
    ],
)
def test_suggest(demo: Community, text: str, category: str | None, urgency: str) -> None:
    assert demo.suggest(text) == Suggestion(category, urgency)


def two_categories(first: list[str], second: list[str]) -> Community:
    plumbing = CATEGORY + f"keywords = {json.dumps(first, ensure_ascii=False)}\n"
    civil = (
        CATEGORY.replace('"plumbing"', '"civil"') + f"keywords = {json.dumps(second, ensure_ascii=False)}\n"
    )
    return parse(MINIMAL.replace(CATEGORY, plumbing + civil)).default


def test_suggest_most_hits_wins_and_ties_go_to_file_order() -> None:
    assert two_categories(["墙"], ["墙", "裂"]).suggest("墙裂了").category == "civil"
    assert two_categories(["墙"], ["墙"]).suggest("墙裂了").category == "plumbing"
    assert two_categories(["LEAK"], []).suggest("it leaks").category == "plumbing"


def test_english_keywords_match_at_word_start(demo: Community) -> None:
    assert demo.suggest("my taps are leaking").category == "plumbing"
    assert demo.suggest("the stapler is broken").category is None


def test_explicit_default_urgency() -> None:
    urgent = URGENCY.replace('"normal"', '"urgent"').replace('"一般"', '"较急"')
    flagged = URGENCY.replace('name = "一般"', 'name = "一般"\nkeywords = ["慢"]\ndefault = true')
    community = parse(MINIMAL.replace(URGENCY, flagged + urgent)).default
    assert community.default_urgency.code == "normal"
    assert community.suggest("没事").urgency == "normal"


# --------------------------------------------------------------- rooms


@pytest.mark.parametrize(
    ("room", "exists"),
    [
        ("1203", True),
        ("1203室", True),
        ("1203号", True),
        ("１２０３", True),
        ("１２０３室", True),
        (" 1203 ", True),
        ("1804", True),
        ("1805", False),
        ("1903", False),
        ("0101", False),
        ("", False),
        ("室", False),
    ],
)
def test_has_room(demo: Community, room: str, exists: bool) -> None:
    building = demo.building("1")
    assert building is not None
    unit = building.unit("1")
    assert unit is not None
    assert unit.has_room(room) is exists


def test_explicit_room_list_is_normalized() -> None:
    unit_text = UNIT.replace("floors = 3\nrooms_per_floor = 2\n", 'rooms = ["101室", "１０２", "b01"]\n')
    unit = parse(MINIMAL.replace(UNIT, unit_text)).default.buildings[0].units[0]
    assert unit.rooms == ("101", "102", "B01")
    assert unit.has_room("b01号")


def test_normalize_room() -> None:
    assert normalize_room(" １２０３室 ") == "1203"


def test_building_and_unit_lookup(demo: Community) -> None:
    assert demo.building("9") is None
    building = demo.building("３")
    assert building is not None and building.area == "south"
    assert building.unit("2") is not None and building.unit("5") is None
    assert demo.category("elevator") is not None and demo.category("nope") is None
    assert demo.urgency("nope") is None


# ------------------------------------------------------------ localization


def test_localized_names(demo: Community) -> None:
    assert localized(demo, "en") == "Harmony Gardens"
    assert demo.display("en-US") == "Harmony Gardens"
    assert demo.display("zh-hans") == "和谐家园"
    assert demo.display("ru") == "和谐家园"


def test_name_en_falls_back_to_name() -> None:
    community = parse(MINIMAL).default
    assert community.display("en") == "和谐家园"
    assert community.buildings[0].units[0].display("en") == "1单元"


def test_model_is_frozen(demo: Community) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.code = "other"  # type: ignore[misc]
    assert isinstance(demo.buildings, tuple) and isinstance(demo.categories[0].keywords, tuple)


# --------------------------------------------------------------- tips


def test_tip_lookup(demo: Community) -> None:
    tip = demo.tip_for("plumbing", "卧室插座没电")
    assert tip is not None
    assert "空气开关" in tip.display("zh") and "breaker" in tip.display("en")
    assert demo.tip_for("hvac", "卧室插座没电") is None
    assert demo.tip_for(None, "遥控器没反应") is not None
    assert demo.tip_for("plumbing", "水龙头坏了") is None


def test_tip_text_en_falls_back() -> None:
    tip = parse(MINIMAL + TIP).default.tips[0]
    assert tip.display("en") == tip.text == "请检查空气开关。"


# --------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", '"" is not a duration (use 90s, 5m, 2h, 1d)'),
        ("5", '"5" is not a duration'),
        ("-5m", '"-5m" is not a duration'),
        ("5x", '"5x" is not a duration'),
        ("1.5h", '"1.5h" is not a duration'),
        ("5 m", '"5 m" is not a duration'),
        ("m", '"m" is not a duration'),
        ("30m1h", '"30m1h" is not a duration'),
        ("0m", '"0m" must be longer than zero'),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (timedelta(minutes=5), "5 分钟", "5 minutes"),
        (timedelta(minutes=1), "1 分钟", "1 minute"),
        (timedelta(hours=2), "2 小时", "2 hours"),
        (timedelta(hours=1, minutes=30), "1 小时 30 分钟", "1 hour 30 minutes"),
        (timedelta(seconds=90), "1 分钟 30 秒", "1 minute 30 seconds"),
        (timedelta(hours=24), "24 小时", "24 hours"),
        (timedelta(days=3), "3 天", "3 days"),
        (timedelta(0), "0 分钟", "0 minutes"),
    ],
)
def test_format_duration(value: timedelta, zh: str, en: str) -> None:
    assert format_duration(value, "zh") == zh
    assert format_duration(value, "en") == en
    assert format_duration(value, "en-GB") == en


def test_format_duration_rejects_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(minutes=-1), "zh")


# ------------------------------------------------------------------ errors

C = 'community "demo"'
U = f'{C}.building "1".unit "1"'
SECOND_COMMUNITY = MINIMAL.replace('code = "demo"', 'code = "other"').replace(
    'office_phone = "0755-0000000"', 'office_phone = "0755-0000000"\nticket_prefix = "OT"'
)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # structure and counts
        (MINIMAL, "", "community: at least one [[community]] is required"),
        (BUILDING + UNIT, "", f"{C}.building: at least one [[building]] is required"),
        (UNIT, "", f'{C}.building "1".unit: at least one [[unit]] is required'),
        (CATEGORY, "", f"{C}.category: at least one [[category]] is required"),
        (URGENCY, "", f"{C}.urgency: at least one [[urgency]] is required"),
        ("floors = 3", "floor = 3", f"{U}.floor: unknown key (expected one of: code, floors, name,"),
        (CATEGORY, CATEGORY + "colour = 1\n", f'{C}.category "plumbing".colour: unknown key'),
        # codes
        ('code = "demo"', 'code = "Demo!"', 'community[0].code: "Demo!" does not match [a-z0-9-]+'),
        ('code = "demo"\n', "", "community[0].code: is required"),
        (
            BUILDING,
            BUILDING + UNIT + BUILDING,
            f'{C}.building[1].code: duplicate code "1" (also used by building[0])',
        ),
        (UNIT, UNIT + UNIT, f'{C}.building "1".unit[1].code: duplicate code "1" (also used by unit[0])'),
        (CATEGORY, CATEGORY + CATEGORY, f'{C}.category[1].code: duplicate code "plumbing"'),
        (URGENCY, URGENCY + URGENCY, f'{C}.urgency[1].code: duplicate code "normal"'),
        (MINIMAL, MINIMAL + MINIMAL, 'community[1].code: duplicate code "demo" (also used by community[0])'),
        # community fields
        ("Asia/Shanghai", "Mars/Olympus", f'{C}.timezone: "Mars/Olympus" is not an IANA time zone'),
        ('timezone = "Asia/Shanghai"\n', "", f"{C}.timezone: is required"),
        ('office_phone = "0755-0000000"\n', "", f"{C}.office_phone: is required"),
        ('name = "和谐家园"', "name = 3", f"{C}.name: must be a non-empty string"),
        (
            'office_phone = "0755-0000000"',
            'office_phone = "1"\noffer_mode = "everyone"',
            f'{C}.offer_mode: "everyone" must be one of: private, group, both',
        ),
        (
            'office_phone = "0755-0000000"',
            'office_phone = "1"\nticket_prefix = "bx"',
            f'{C}.ticket_prefix: "bx" does not match',
        ),
        (
            MINIMAL,
            MINIMAL + SECOND_COMMUNITY.replace('"OT"', '"BX"'),
            'community "other".ticket_prefix: already used',
        ),
        # buildings and units
        ('area = "north"', 'area = ""', f'{C}.building "1".area: must be a non-empty string'),
        ('area = "north"\n', "", f'{C}.building "1".area: is required'),
        ("floors = 3", "floors = 0", f"{U}.floors: must be a positive integer"),
        ("floors = 3", "floors = -2", f"{U}.floors: must be a positive integer"),
        ("floors = 3", "floors = true", f"{U}.floors: must be a positive integer"),
        ("floors = 3", 'floors = "3"', f"{U}.floors: must be a positive integer"),
        ("rooms_per_floor = 2", "rooms_per_floor = 100", f"{U}.rooms_per_floor: must be at most 99"),
        ("rooms_per_floor = 2\n", "", f"{U}.rooms_per_floor: is required"),
        ("floors = 3\n", "", f"{U}.floors: is required"),
        ("floors = 3\nrooms_per_floor = 2", "rooms = []", f"{U}.rooms: must not be empty"),
        (
            "floors = 3\nrooms_per_floor = 2",
            'rooms = ["101", ""]',
            f"{U}.rooms[1]: must be a non-empty string",
        ),
        (
            "floors = 3\nrooms_per_floor = 2",
            'rooms = ["101", "101室"]',
            f'{U}.rooms[1]: "101室" is empty or a',
        ),
        ("floors = 3\nrooms_per_floor = 2", 'rooms = "101"', f"{U}.rooms: must be a list of strings"),
        ("floors = 3", 'floors = 3\nrooms = ["101"]', f"{U}.rooms: give either rooms or floors"),
        # categories
        (
            'skill = "plumbing_electric"',
            'skill = ""',
            f'{C}.category "plumbing".skill: must be a non-empty string',
        ),
        ('skill = "plumbing_electric"\n', "", f'{C}.category "plumbing".skill: is required'),
        (
            'skill = "plumbing_electric"',
            'skill = "x"\nscope = "inside"',
            f'{C}.category "plumbing".scope: "inside" must be one of: in_unit, public, either',
        ),
        (
            'skill = "plumbing_electric"',
            'skill = "x"\nkeywords = ["漏水", 3]',
            f'{C}.category "plumbing".keywords[1]: must be a non-empty string',
        ),
        # urgencies
        (
            'grab = "5m"',
            'grab = "5x"',
            f'{C}.urgency "normal".grab: "5x" is not a duration (use 90s, 5m, 2h, 1d)',
        ),
        ('grab = "5m"', 'grab = "0m"', f'{C}.urgency "normal".grab: "0m" must be longer than zero'),
        ('grab = "5m"', "grab = 5", f'{C}.urgency "normal".grab: 5 is not a duration'),
        ('stall = "2h"\n', "", f'{C}.urgency "normal".stall: is required (use 90s, 5m, 2h, 1d)'),
        ('name = "一般"', 'name = "一般"\nkeywords = ["慢"]', f"{C}.urgency: no default"),
        (
            'name = "一般"',
            'name = "一般"\ndefault = "yes"',
            f'{C}.urgency "normal".default: must be true or false',
        ),
        (
            URGENCY,
            URGENCY.replace('"一般"', '"一般"\ndefault = true')
            + URGENCY.replace('"normal"', '"low"').replace('"一般"', '"低"\ndefault = true'),
            f'{C}.urgency "low".default: only one urgency may be the default (also "normal")',
        ),
        # tips
        (
            URGENCY,
            URGENCY + TIP.replace('"plumbing"', '"gas"'),
            f'{C}.tip[0].category: unknown category "gas"',
        ),
        (URGENCY, URGENCY + TIP.replace('keywords = ["跳闸"]\n', ""), f"{C}.tip[0].keywords: is required"),
        (URGENCY, URGENCY + TIP.replace('["跳闸"]', "[]"), f"{C}.tip[0].keywords: must not be empty"),
        (URGENCY, URGENCY + TIP.replace('text = "请检查空气开关。"\n', ""), f"{C}.tip[0].text: is required"),
        # top level
        (MINIMAL, 'owner = "x"\n' + MINIMAL, "owner: unknown key"),
    ],
)
def test_errors_name_the_key_path(old: str, new: str, message: str) -> None:
    assert old in MINIMAL
    with pytest.raises(SiteError) as caught:
        parse(MINIMAL.replace(old, new, 1))
    assert str(caught.value).startswith(f"test.toml: {message}")


def test_toml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(SiteError) as caught:
        parse('[[community]]\ncode = "demo"\nname = 和谐家园\n')
    assert str(caught.value).startswith("test.toml: line 3, column 8: invalid TOML: ")


def test_error_from_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL.replace('grab = "5m"', 'grab = "5x"'), encoding="utf-8")
    with pytest.raises(SiteError) as caught:
        load_site(path)
    assert str(caught.value) == (
        f'{path}: community "demo".urgency "normal".grab: "5x" is not a duration (use 90s, 5m, 2h, 1d)'
    )
    assert caught.value.key == 'community "demo".urgency "normal".grab'
    assert caught.value.source == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read the site file") as caught:
        load_site(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in str(caught.value)


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL + SECOND_COMMUNITY, encoding="utf-8")
    site = load_site(path)
    assert [c.code for c in site.communities] == ["demo", "other"]
    assert site.default.code == "demo"
    other = site.community("other")
    assert other is not None and other.ticket_prefix == "OT"
    assert site.community("missing") is None
    assert site.default.buildings[0].units[0].rooms == ("101", "102", "201", "202", "301", "302")


DEPARTMENTS = """
[community.matters]
accept = "2h"
default_department = "service"

[[community.department]]
code = "service"
name = "客服"
name_en = "Service"
supervisors = ["小周"]
keywords = ["咨询"]

[[community.department]]
code = "security"
name = "安保"
keywords = ["噪音", "停车"]
  [community.department.complaint]
  accept = "30m"
"""


def test_departments_are_read_with_their_promises() -> None:
    matters = parse(MINIMAL + DEPARTMENTS).default.matters
    assert [d.code for d in matters.departments] == ["service", "security"]
    assert matters.department("service") is not None and matters.department("service").supervisors == (
        "小周",
    )  # type: ignore[union-attr]
    assert matters.suggest("晚上噪音太大") == "security" and matters.suggest("你好") == "service"
    # security's own promise for complaints; the community's answer time where it has none
    assert matters.deadlines_for("security", "complaint").accept.total_seconds() == 30 * 60
    assert matters.deadlines_for("security", "complaint").answer.total_seconds() == 24 * 3600
    assert matters.deadlines_for("security", "praise").accept.total_seconds() == 2 * 3600
    assert matters.ticket_prefix == "BS"


def test_a_site_without_departments_takes_no_matters() -> None:
    matters = parse(MINIMAL).default.matters
    assert matters.departments == () and matters.default_department == "" and not matters.mentions("噪音")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'default_department = "service"',
            'default_department = "cleaning"',
            f'{C}.matters.default_department: unknown department "cleaning" (known: service, security)',
        ),
        (
            'code = "security"',
            'code = "security-and-parking"',
            f'{C}.department[1].code: "security-and-parking"',
        ),
        ('accept = "30m"', 'accept = "soon"', f'{C}.department "security".complaint.accept:'),
        (
            'keywords = ["噪音", "停车"]',
            'keywords = ["噪音"]\ncolour = 1',
            f'{C}.department "security".colour: unknown',
        ),
        (
            'accept = "2h"',
            'accept = "2h"\nticket_prefix = "BX"',
            f'{C}.matters.ticket_prefix: "BX" is the repairs',
        ),
    ],
)
def test_department_mistakes_stop_start_up_naming_the_key(old: str, new: str, message: str) -> None:
    with pytest.raises(SiteError) as raised:
        parse(MINIMAL + DEPARTMENTS.replace(old, new, 1))
    assert message in str(raised.value)


def test_the_demo_takes_matters_and_explains_what_is_out_of_scope(demo: Community) -> None:
    matters = demo.matters
    assert {d.code for d in matters.departments} == {"service", "security", "cleaning", "greening", "billing"}
    assert matters.suggest("楼道里垃圾很臭") == "cleaning" and matters.suggest("物业费发票") == "billing"
    outside = matters.outside("邻居纠纷怎么办")
    assert (
        outside is not None and "居委会" in outside.display("zh_CN") and "committee" in outside.display("en")
    )
