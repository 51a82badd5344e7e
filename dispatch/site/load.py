"""Reading a site file (TOML) into the site's things, every value checked with the key path it came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.site.assets import read_assets
from dispatch.site.model import (
    MATTER_KINDS,
    OFFER_MODES,
    SCOPES,
    Building,
    Category,
    Community,
    Deadlines,
    Department,
    Matters,
    OfferMode,
    OutOfScope,
    Privacy,
    Scope,
    Site,
    Tip,
    Unit,
    Urgency,
)
from dispatch.site.parse import Reader, SiteError, normalize_room, read_toml

DEMO_SOURCE = "dispatch/site/demo_site.toml"

_COMMUNITY_CODE = r"[a-z0-9-]+"
_PLACE_CODE = r"[A-Za-z0-9-]+"  # building/unit codes as painted on the wall: "1", "A", "3B"
_ITEM_CODE = r"[a-z0-9_-]+"  # category, urgency and skill codes
_DEPARTMENT_CODE = r"[a-z0-9_-]{1,15}"  # short enough to name its group binding ("dept:" + code)
_TICKET_PREFIX = r"[A-Z][A-Z0-9]{0,7}"
_COMMUNITY_KEYS = (
    "code",
    "name",
    "name_en",
    "timezone",
    "ticket_prefix",
    "offer_mode",
    "office_phone",
    "privacy_text",
    "privacy_text_en",
    "privacy_url",
    "privacy_version",
)
_COMMUNITY_TABLES = (
    "building",
    "category",
    "urgency",
    "tip",
    "matters",
    "department",
    "out_of_scope",
    "asset",
)
_LIMITS = ("grab", "manager", "contact", "arrival", "stall")


def load_site(path: Path | str | None = None) -> Site:
    """Load a site file; None loads the built-in demo community."""
    if path is None:
        text = resources.files("dispatch.site").joinpath("demo_site.toml").read_text(encoding="utf-8")
        return parse_site(text, DEMO_SOURCE)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteError("", f"cannot read the site file: {exc.strerror or exc}", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise SiteError("", f"not UTF-8 text: {exc.reason}", str(path)) from exc
    return parse_site(text, str(path))


def parse_site(text: str, source: str = "<site>") -> Site:
    """Parse and validate site-file text; `source` names it in error messages."""
    data = read_toml(text, source)
    try:
        return _site(Reader(data, "", ""))
    except SiteError as exc:
        raise exc.with_source(source) from None


def _site(root: Reader) -> Site:
    root.check_keys(["community"])
    communities = [_community(code, r) for code, r in root.coded("community", _COMMUNITY_CODE)]
    prefixes: dict[str, str] = {}
    for community in communities:
        # Distinct prefixes keep ticket numbers unique across communities whatever the sequence scheme.
        if community.ticket_prefix in prefixes:
            other = prefixes[community.ticket_prefix]
            raise SiteError(
                f'community "{community.code}".ticket_prefix', f'already used by community "{other}"'
            )
        prefixes[community.ticket_prefix] = community.code
    return Site(tuple(communities))


def _community(code: str, r: Reader) -> Community:
    r.check_keys([*_COMMUNITY_KEYS, *_COMMUNITY_TABLES])
    name = r.text("name")
    zone = r.text("timezone")
    try:
        timezone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("timezone", f'"{zone}" is not an IANA time zone (e.g. "Asia/Shanghai")')
    buildings = tuple(_building(c, b) for c, b in r.coded("building", _PLACE_CODE))
    categories = tuple(_category(c, t) for c, t in r.coded("category", _ITEM_CODE))
    urgencies = _urgencies(r, r.coded("urgency", _ITEM_CODE))
    known = [c.code for c in categories]
    tips = tuple(_tip(t, known) for t in r.optional_tables("tip"))
    ticket_prefix = r.text("ticket_prefix", default="BX", pattern=_TICKET_PREFIX)
    return Community(
        code=code,
        name=name,
        name_en=r.text("name_en", default=name),
        timezone=timezone,
        ticket_prefix=ticket_prefix,
        offer_mode=cast(OfferMode, r.choice("offer_mode", OFFER_MODES, "both")),
        office_phone=r.text("office_phone"),
        buildings=buildings,
        categories=categories,
        urgencies=urgencies,
        tips=tips,
        matters=_matters(r, ticket_prefix),
        privacy=Privacy(
            text=r.text("privacy_text", default=""),
            text_en=r.text("privacy_text_en", default=""),
            url=r.text("privacy_url", default=""),
            version=r.text("privacy_version", default=""),
        ),
        assets=read_assets(
            r,
            timezone,
            {b.code: b.area for b in buildings},
            {c.skill: c.code for c in reversed(categories)},
        ),
    )


def _building(code: str, r: Reader) -> Building:
    r.check_keys(["code", "name", "name_en", "area", "unit"])
    name = r.text("name")
    units = tuple(_unit(c, u) for c, u in r.coded("unit", _PLACE_CODE))
    return Building(code, name, r.text("name_en", default=name), r.text("area"), units)


def _unit(code: str, r: Reader) -> Unit:
    r.check_keys(["code", "name", "name_en", "floors", "rooms_per_floor", "rooms"])
    name = r.text("name")
    floors, per_floor = r.positive_int("floors"), r.positive_int("rooms_per_floor")
    if "rooms" in r.data:
        if floors is not None or per_floor is not None:
            r.fail("rooms", "give either rooms or floors + rooms_per_floor, not both")
        rooms: list[str] = []
        for i, raw in enumerate(r.texts("rooms", required=True)):
            room = normalize_room(raw)
            if not room or room in rooms:
                r.fail(f"rooms[{i}]", f'"{raw}" is empty or a duplicate room number')
            rooms.append(room)
    else:
        if floors is None:
            r.fail("floors", "is required (or give an explicit rooms list)")
        if per_floor is None:
            r.fail("rooms_per_floor", "is required (or give an explicit rooms list)")
        if per_floor > 99:
            r.fail("rooms_per_floor", "must be at most 99 (a room number is the floor plus two digits)")
        rooms = [f"{floor}{n:02d}" for floor in range(1, floors + 1) for n in range(1, per_floor + 1)]
    return Unit(code, name, r.text("name_en", default=name), tuple(rooms))


def _category(code: str, r: Reader) -> Category:
    r.check_keys(["code", "name", "name_en", "skill", "scope", "keywords"])
    name = r.text("name")
    return Category(
        code=code,
        name=name,
        name_en=r.text("name_en", default=name),
        skill=r.text("skill", pattern=_ITEM_CODE),
        scope=cast(Scope, r.choice("scope", SCOPES, "either")),
        keywords=r.texts("keywords"),
    )


def _urgencies(parent: Reader, coded: list[tuple[str, Reader]]) -> tuple[Urgency, ...]:
    urgencies: list[Urgency] = []
    for code, r in coded:
        r.check_keys(["code", "name", "name_en", "keywords", "default", *_LIMITS])
        name = r.text("name")
        name_en, keywords = r.text("name_en", default=name), r.texts("keywords")
        grab, manager, contact, arrival, stall = (r.duration(key) for key in _LIMITS)
        urgencies.append(
            Urgency(code, name, name_en, keywords, grab, manager, contact, arrival, stall, False)
        )
    flagged = [i for i, (_, r) in enumerate(coded) if r.flag("default")]
    if len(flagged) > 1:
        first = coded[flagged[0]][0]
        coded[flagged[1]][1].fail("default", f'only one urgency may be the default (also "{first}")')
    # Without an explicit flag the last keyword-less urgency is the fallback, as the file reads top-down.
    plain = flagged or [i for i, u in enumerate(urgencies) if not u.keywords][-1:]
    if not plain:
        parent.fail(
            "urgency", "no default: set default = true on one urgency, or leave the last without keywords"
        )
    urgencies[plain[0]] = replace(urgencies[plain[0]], is_default=True)
    return tuple(urgencies)


def _tip(r: Reader, categories: list[str]) -> Tip:
    r.check_keys(["category", "keywords", "text", "text_en"])
    category = r.text("category")
    if category not in categories:
        r.fail("category", f'unknown category "{category}" (known: {", ".join(categories)})')
    text = r.text("text")
    return Tip(category, r.texts("keywords", required=True), text, r.text("text_en", default=text))


def _matters(community: Reader, repair_prefix: str) -> Matters:
    """[community.matters], [[community.department]] and [[community.out_of_scope]]."""
    settings = community.table("matters")
    settings.check_keys(["ticket_prefix", "accept", "answer", "default_department"])
    prefix = settings.text("ticket_prefix", default="BS", pattern=_TICKET_PREFIX)
    if prefix == repair_prefix:
        settings.fail("ticket_prefix", f'"{prefix}" is the repairs\' prefix too; give matters their own')
    deadlines = Deadlines(
        settings.duration("accept", default=timedelta(hours=1)),
        settings.duration("answer", default=timedelta(hours=24)),
    )
    departments = tuple(
        _department(code, d, deadlines)
        for code, d in community.optional_coded("department", _DEPARTMENT_CODE)
    )
    codes = [d.code for d in departments]
    default = settings.text("default_department", default=codes[0] if codes else "")
    if codes and default not in codes:
        settings.fail("default_department", f'unknown department "{default}" (known: {", ".join(codes)})')
    outside = tuple(_out_of_scope(o) for o in community.optional_tables("out_of_scope"))
    return Matters(prefix, deadlines, departments, default, outside)


def _department(code: str, r: Reader, community: Deadlines) -> Department:
    r.check_keys(["code", "name", "name_en", "keywords", "supervisors", *MATTER_KINDS])
    name = r.text("name")
    own: list[tuple[str, Deadlines]] = []
    for kind in MATTER_KINDS:
        if kind in r.data:
            promise = r.table(kind)
            promise.check_keys(["accept", "answer"])
            own.append(
                (
                    kind,
                    Deadlines(
                        promise.duration("accept", default=community.accept),
                        promise.duration("answer", default=community.answer),
                    ),
                )
            )
    return Department(
        code, name, r.text("name_en", default=name), r.texts("keywords"), r.texts("supervisors"), tuple(own)
    )


def _out_of_scope(r: Reader) -> OutOfScope:
    r.check_keys(["keywords", "text", "text_en"])
    text = r.text("text")
    return OutOfScope(r.texts("keywords", required=True), text, r.text("text_en", default=text))
