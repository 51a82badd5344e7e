"""The site file's things: communities, their buildings and units, repair categories, urgencies and tips."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from dispatch.site.assets import Asset
from dispatch.site.parse import fold_code, hits, is_english, normalize_room

OfferMode = Literal["private", "group", "both"]
# The kinds of matter (报事) a resident can bring, in the order they are offered.
MATTER_KINDS = ("complaint", "suggestion", "inquiry", "praise")
Scope = Literal["in_unit", "public", "either"]
OFFER_MODES: tuple[OfferMode, ...] = ("private", "group", "both")
SCOPES: tuple[Scope, ...] = ("in_unit", "public", "either")


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
class Deadlines:
    """How long a department may take to accept a matter, and to give the resident a first answer."""

    accept: timedelta
    answer: timedelta


@dataclass(frozen=True, slots=True)
class Department(_Display):
    """A department that takes matters (报事): customer service, security, cleaning, billing ..."""

    code: str
    name: str
    name_en: str
    keywords: tuple[str, ...]
    # The names (as registered with `baoxiu staff add`) of the staff who accept its matters.
    supervisors: tuple[str, ...] = ()
    # Per matter kind, where the department's promise differs from the community's.
    deadlines: tuple[tuple[str, Deadlines], ...] = ()


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """Something the office does not handle (a neighbour dispute): the explanation and where to go instead."""

    keywords: tuple[str, ...]
    text: str
    text_en: str

    def display(self, lang: str) -> str:
        """The explanation in `lang`."""
        return self.text_en if is_english(lang) and self.text_en else self.text


@dataclass(frozen=True, slots=True)
class Matters:
    """How a community takes matters (报事); without departments it takes none in chat."""

    ticket_prefix: str = "BS"
    deadlines: Deadlines = Deadlines(timedelta(hours=1), timedelta(hours=24))
    departments: tuple[Department, ...] = ()
    default_department: str = ""
    out_of_scope: tuple[OutOfScope, ...] = ()

    def department(self, code: str) -> Department | None:
        """The department with this code, or None."""
        return next((d for d in self.departments if d.code == code), None)

    def suggest(self, text: str) -> str:
        """The department whose keywords `text` hits most (ties to file order), else the default."""
        best, best_hits = self.default_department, 0
        for department in self.departments:
            count = hits(department.keywords, text)
            if count > best_hits:
                best, best_hits = department.code, count
        return best

    def deadlines_for(self, department: str, kind: str) -> Deadlines:
        """The promise that applies to a matter of `kind` in `department`."""
        found = self.department(department)
        own = dict(found.deadlines) if found is not None else {}
        return own.get(kind, self.deadlines)

    def outside(self, text: str) -> OutOfScope | None:
        """The first out-of-scope entry `text` hits, or None."""
        return next((o for o in self.out_of_scope if hits(o.keywords, text)), None)

    def mentions(self, text: str) -> bool:
        """True when `text` names a department's business (a way in to a matter outside any dialog)."""
        return any(hits(d.keywords, text) for d in self.departments)


@dataclass(frozen=True, slots=True)
class Privacy:
    """The office's own privacy words for residents, shown before their first request (optional)."""

    text: str = ""
    text_en: str = ""
    url: str = ""
    # What a resident agreed to; a new version asks again once. Without one, the words themselves decide.
    version: str = ""

    @property
    def current(self) -> str:
        """The version residents agree to: the given one, else a short digest of the words and link."""
        if self.version:
            return self.version
        return hashlib.sha256(f"{self.text}\n{self.text_en}\n{self.url}".encode()).hexdigest()[:12]


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
    matters: Matters = Matters()
    # Planned maintenance: what the office looks after on a calendar (dispatch/site/assets.py).
    assets: tuple[Asset, ...] = ()
    privacy: Privacy = Privacy()

    def building(self, code: str) -> Building | None:
        """The building with this code, or None."""
        return next((b for b in self.buildings if fold_code(b.code) == fold_code(code)), None)

    def category(self, code: str) -> Category | None:
        """The category with this code, or None."""
        return next((c for c in self.categories if c.code == code), None)

    def asset(self, code: str) -> Asset | None:
        """The asset with this code, or None."""
        return next((a for a in self.assets if a.code == code), None)

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
