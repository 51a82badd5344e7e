"""The site file: the communities served, their buildings, repair categories, urgencies and tips."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The `X as X` form re-exports these, so callers need only `dispatch.site`.
from dispatch.site_parse import Reader, fold_code, hits, read_toml
from dispatch.site_parse import SiteError as SiteError
from dispatch.site_parse import format_duration as format_duration
from dispatch.site_parse import is_english as is_english
from dispatch.site_parse import normalize_room as normalize_room
from dispatch.site_parse import parse_duration as parse_duration

OfferMode = Literal["private", "group", "both"]
Scope = Literal["in_unit", "public", "either"]
OFFER_MODES: tuple[OfferMode, ...] = ("private", "group", "both")
SCOPES: tuple[Scope, ...] = ("in_unit", "public", "either")
DEMO_SOURCE = "dispatch/demo_site.toml"

_COMMUNITY_CODE = r"[a-z0-9-]+"
_PLACE_CODE = r"[A-Za-z0-9-]+"  # building/unit codes as painted on the wall: "1", "A", "3B"
_ITEM_CODE = r"[a-z0-9_-]+"  # category, urgency and skill codes
_TICKET_PREFIX = r"[A-Z][A-Z0-9]{0,7}"
_COMMUNITY_KEYS = ("code", "name", "name_en", "timezone", "ticket_prefix", "offer_mode", "office_phone")
_LIMITS = ("grab", "manager", "contact", "arrival", "stall")


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str: ...


def localized(obj: _Named, lang: str) -> str:
    """The English name for an English `lang` when one is set, else the Chinese name."""
    return obj.name_en if is_english(lang) and obj.name_en else obj.name


class _Display:
    __slots__ = ()

    def display(self: _Named, lang: str) -> str:
        """This thing's name in `lang` (see `localized`)."""
        return localized(self, lang)


@dataclass(frozen=True, slots=True)
class Unit(_Display):
    """One entrance (单元) of a building and its room numbers (normalized)."""

    code: str
    name: str
    name_en: str
    rooms: tuple[str, ...]

    def has_room(self, room: str) -> bool:
        """Whether `room` exists here; accepts "1203", "1203室" and full-width "１２０３"."""
        return normalize_room(room) in self.rooms


@dataclass(frozen=True, slots=True)
class Building(_Display):
    """One building (楼栋), the area whose technicians serve it, and its units."""

    code: str
    name: str
    name_en: str
    area: str
    units: tuple[Unit, ...]

    def unit(self, code: str) -> Unit | None:
        """The unit with this code, or None."""
        return next((u for u in self.units if fold_code(u.code) == fold_code(code)), None)


@dataclass(frozen=True, slots=True)
class Category(_Display):
    """A repair category (水电, 土建 …), the technician skill it needs and where it applies."""

    code: str
    name: str
    name_en: str
    skill: str
    scope: Scope
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Urgency(_Display):
    """An urgency level and its time limits; the file order is the severity, most severe first."""

    code: str
    name: str
    name_en: str
    keywords: tuple[str, ...]
    grab: timedelta
    manager: timedelta
    contact: timedelta
    arrival: timedelta
    stall: timedelta
    is_default: bool


@dataclass(frozen=True, slots=True)
class Tip:
    """A self-check tip offered before a ticket is opened (tripped breaker, closed valve …)."""

    category: str
    keywords: tuple[str, ...]
    text: str
    text_en: str

    def display(self, lang: str) -> str:
        """The tip's text in `lang`."""
        return self.text_en if is_english(lang) and self.text_en else self.text


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Category and urgency guessed from a resident's words; the resident may change both."""

    category: str | None
    urgency: str


@dataclass(frozen=True, slots=True)
class Community(_Display):
    """One community (小区) with everything the bot needs to take and dispatch its repairs."""

    code: str
    name: str
    name_en: str
    timezone: ZoneInfo
    ticket_prefix: str
    offer_mode: OfferMode
    office_phone: str
    buildings: tuple[Building, ...]
    categories: tuple[Category, ...]
    urgencies: tuple[Urgency, ...]
    tips: tuple[Tip, ...]

    def building(self, code: str) -> Building | None:
        """The building with this code, or None."""
        return next((b for b in self.buildings if fold_code(b.code) == fold_code(code)), None)

    def category(self, code: str) -> Category | None:
        """The category with this code, or None."""
        return next((c for c in self.categories if c.code == code), None)

    def urgency(self, code: str) -> Urgency | None:
        """The urgency with this code, or None."""
        return next((u for u in self.urgencies if u.code == code), None)

    @property
    def default_urgency(self) -> Urgency:
        """The urgency used when no keyword says otherwise."""
        return next(u for u in self.urgencies if u.is_default)

    @property
    def areas(self) -> tuple[str, ...]:
        """The distinct areas of the buildings, in file order."""
        return tuple(dict.fromkeys(b.area for b in self.buildings))

    def suggest(self, text: str) -> Suggestion:
        """Guess category (most keyword hits, ties to file order) and urgency (most severe match)."""
        best: str | None = None
        best_hits = 0
        for category in self.categories:
            count = hits(category.keywords, text)
            if count > best_hits:
                best, best_hits = category.code, count
        urgency = next((u for u in self.urgencies if hits(u.keywords, text)), self.default_urgency)
        return Suggestion(best, urgency.code)

    def tip_for(self, category: str | None, text: str) -> Tip | None:
        """The first tip of `category` (any category if None) with a keyword in `text`, or None."""
        for tip in self.tips:
            if (category is None or tip.category == category) and hits(tip.keywords, text):
                return tip
        return None


@dataclass(frozen=True, slots=True)
class Site:
    """Every community in one site file; the first is the default."""

    communities: tuple[Community, ...]

    def community(self, code: str) -> Community | None:
        """The community with this code, or None."""
        return next((c for c in self.communities if c.code == code), None)

    @property
    def default(self) -> Community:
        """The first community in the file."""
        return self.communities[0]


def load_site(path: Path | str | None = None) -> Site:
    """Load a site file; None loads the built-in demo community."""
    if path is None:
        text = resources.files("dispatch").joinpath("demo_site.toml").read_text(encoding="utf-8")
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
    r.check_keys([*_COMMUNITY_KEYS, "building", "category", "urgency", "tip"])
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
    return Community(
        code=code,
        name=name,
        name_en=r.text("name_en", default=name),
        timezone=timezone,
        ticket_prefix=r.text("ticket_prefix", default="BX", pattern=_TICKET_PREFIX),
        offer_mode=cast(OfferMode, r.choice("offer_mode", OFFER_MODES, "both")),
        office_phone=r.text("office_phone"),
        buildings=buildings,
        categories=categories,
        urgencies=urgencies,
        tips=tips,
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
