"""Helpers for the site file: typed readers that name the key path, durations, text matching."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, NoReturn

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_HINT = "use 90s, 5m, 2h, 1d"


class SiteError(Exception):
    """A site file that cannot be used; the message names the file and the key path."""

    def __init__(self, key: str, problem: str, source: str = "") -> None:
        self.key = key
        self.problem = problem
        self.source = source
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {problem}" if where else problem)

    def with_source(self, source: str) -> SiteError:
        """The same error, attributed to the file it came from."""
        return SiteError(self.key, self.problem, source)


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "5m", "2h", "1h30m" or "1d" into a positive timedelta; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration ({_DURATION_HINT})")
    match = _DURATION.fullmatch(text.strip().lower())
    # A bare number is refused on purpose: "5" could mean seconds or minutes, and a wrong guess is an SLA.
    if not text.strip() or match is None:
        raise ValueError(f'"{text}" is not a duration ({_DURATION_HINT})')
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise ValueError(f'"{text}" must be longer than zero')
    return value


def format_duration(td: timedelta, lang: str = "zh") -> str:
    """A duration for people: "1 小时 30 分钟" / "1 hour 30 minutes"."""
    total = int(td.total_seconds())
    if total < 0:
        raise ValueError(f"negative duration: {td}")
    # Under two days hours read better: residents know the "24 小时内" promise.
    days, rest = divmod(total, 86400) if total >= 2 * 86400 else (0, total)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(n, i) for i, n in enumerate((days, hours, minutes, seconds)) if n] or [(0, 2)]
    if is_english(lang):
        words = ("day", "hour", "minute", "second")
        return " ".join(f"{n} {words[i]}{'' if n == 1 else 's'}" for n, i in parts)
    return " ".join(f"{n} {('天', '小时', '分钟', '秒')[i]}" for n, i in parts)


def normalize_room(room: str) -> str:
    """Canonical room number: full-width to ASCII, stripped, upper case, no trailing 室/号."""
    text = unicodedata.normalize("NFKC", room).strip()
    if text.endswith(("室", "号")):
        text = text[:-1].rstrip()
    return text.upper()


def is_english(lang: str) -> bool:
    """True for "en", "en-US", "en_GB"; every other language gets the Chinese text."""
    return lang.lower().replace("_", "-").split("-")[0] == "en"


def fold_code(code: str) -> str:
    """A code as compared for lookups and uniqueness."""
    # Codes are compared the way a person types them: full-width or lower case still finds "A".
    return unicodedata.normalize("NFKC", code).strip().casefold()


def matches(keyword: str, folded_text: str) -> bool:
    """Whether `keyword` occurs in already case-folded text."""
    kw = unicodedata.normalize("NFKC", keyword).casefold()
    if kw.isascii():
        # English keywords match at a word start, so "tap" finds "taps" but not "stapler".
        return re.search(r"(?<![a-z0-9])" + re.escape(kw), folded_text) is not None
    return kw in folded_text


def hits(keywords: tuple[str, ...], text: str) -> int:
    """How many of `keywords` occur in `text`, ignoring case and full-width forms."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return sum(1 for kw in keywords if matches(kw, folded))


def read_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes a SiteError naming the file, line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        # tomllib (3.11) puts the position only in the message: "... (at line 3, column 5)".
        at = re.search(r"\s*\(at (line \d+, column \d+)\)$", message)
        where = at.group(1) if at else ""
        problem = message[: at.start()] if at else message
        raise SiteError(where, f"invalid TOML: {problem}", source) from exc


class Reader:
    """One TOML table plus where it sits in the file, so every complaint names its key path."""

    def __init__(self, data: dict[str, Any], parent: str, segment: str) -> None:
        self.data = data
        self.parent = parent
        self.segment = segment

    @property
    def path(self) -> str:
        """The key path of this table, e.g. `community "demo".building[2]`."""
        return f"{self.parent}.{self.segment}" if self.parent else self.segment

    def named(self, kind: str, code: str) -> Reader:
        """The same table, now addressed by its code instead of its index (easier to find in the file)."""
        return Reader(self.data, self.parent, f'{kind} "{code}"')

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise a SiteError for `key` in this table."""
        raise SiteError(f"{self.path}.{key}" if key and self.path else key or self.path, problem)

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Refuse unknown keys: a misspelt optional key would otherwise be silently ignored."""
        known = set(allowed)
        for key in self.data:
            if key not in known:
                self.fail(key, f"unknown key (expected one of: {', '.join(sorted(known))})")

    def text(self, key: str, default: str | None = None, pattern: str | None = None) -> str:
        """A non-empty string (stripped); `default` when absent, if given."""
        value = self.data.get(key)
        if value is None:
            if default is None:
                self.fail(key, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
        value = value.strip()
        if pattern is not None and not re.fullmatch(pattern, value):
            self.fail(key, f'"{value}" does not match {pattern}')
        return value

    def positive_int(self, key: str) -> int | None:
        """A positive integer, or None when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        # bool is an int subclass in Python; `floors = true` must not count as one floor.
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(key, "must be a positive integer")
        return value

    def flag(self, key: str) -> bool:
        """A boolean, False when absent."""
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value

    def texts(self, key: str, required: bool = False) -> tuple[str, ...]:
        """A list of non-empty strings (stripped); empty when absent unless `required`."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return ()
        if not isinstance(value, list):
            self.fail(key, "must be a list of strings")
        if required and not value:
            self.fail(key, "must not be empty")
        items: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{key}[{i}]", "must be a non-empty string")
            items.append(item.strip())
        return tuple(items)

    def duration(self, key: str, default: timedelta | None = None) -> timedelta:
        """A duration string such as "5m"; required unless a `default` is given."""
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            self.fail(key, f"is required ({_DURATION_HINT})")
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(key, str(exc))

    def tables(self, key: str) -> list[Reader]:
        """An array of tables (`[[x.key]]`), each addressed by index until its code is known."""
        value = self.data.get(key)
        if value is None:
            self.fail(key, f"at least one [[{key}]] is required")
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"must be an array of tables ([[{key}]])")
        if not value:
            self.fail(key, f"at least one [[{key}]] is required")
        return [Reader(item, self.path, f"{key}[{i}]") for i, item in enumerate(value)]

    def table(self, key: str) -> Reader:
        """A single sub-table (`[x.key]`); an empty one when absent."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}])")
        return Reader(value, self.path, key)

    def optional_coded(self, key: str, pattern: str) -> list[tuple[str, Reader]]:
        """Like `coded`, but absent means none."""
        return self.coded(key, pattern) if self.data.get(key, []) != [] else []

    def optional_tables(self, key: str) -> list[Reader]:
        """Like `tables`, but absent means none."""
        return self.tables(key) if self.data.get(key, []) != [] else []

    def coded(self, key: str, pattern: str) -> list[tuple[str, Reader]]:
        """The `[[key]]` tables with their unique codes, each then addressed by its code."""
        seen: dict[str, str] = {}
        result: list[tuple[str, Reader]] = []
        for table in self.tables(key):
            code = table.text("code", pattern=pattern)
            if fold_code(code) in seen:
                table.fail("code", f'duplicate code "{code}" (also used by {seen[fold_code(code)]})')
            seen[fold_code(code)] = table.segment
            result.append((code, table.named(key, code)))
        return result

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        """One of `choices`, `default` when absent."""
        value = self.text(key, default=default)
        if value not in choices:
            self.fail(key, f'"{value}" must be one of: {", ".join(choices)}')
        return value
