"""Template messages (模板消息) in WeChat's layout since 2023-05-04, and the checks on their configuration.

WeChat no longer shows a template's `first` and `remark` fields, shows no colours, and shows each keyword
field on one line within its type's limit (a `thing` 20 characters, a `phrase` 5 ...). A longer value is
refused or cut by WeChat, so every value is made to fit here: one line, within its field's limit.
`WECHAT_TEMPLATE_FIELDS` maps the template's fields to parts of the notice, e.g. the default
`character_string1=number,phrase2=status,thing3=gist,time4=time`.
"""

from __future__ import annotations

import re

DEFAULT_FIELDS = "character_string1=number,phrase2=status,thing3=gist,time4=time"
TICKET = re.compile(r"\b[A-Z][A-Z0-9]{0,9}-\d{8}-\d{3,}\b")
# Characters per value by field type (the name's prefix): WeChat's documented limits.
FIELD_LIMITS = (
    ("character_string", 32),
    ("thing", 20),
    ("phrase", 5),
    ("name", 10),
    ("car_number", 8),
    ("phone_number", 17),
    ("number", 32),
    ("letter", 32),
    ("amount", 32),
    ("time", 32),
    ("date", 32),
    ("const", 20),
)
HIDDEN = frozenset({"first", "remark"})  # no longer shown by WeChat
PARTS = ("title", "body", "text", "gist", "number", "status", "time", "hint")
# Parts that are short by construction; the others are free text that a short field may cut.
SHORT_PARTS = frozenset({"number", "time", "status", "gist"})
_DECORATION = re.compile(r"^[\W_]+", re.UNICODE)  # leading emoji, bullets and punctuation of a title


def field_limit(field: str) -> int:
    """The most characters WeChat shows in a field (200 for the old keyword fields)."""
    return next((n for prefix, n in FIELD_LIMITS if field.startswith(prefix)), 200)


def one_line(text: str) -> str:
    """Line breaks and runs of spaces as single spaces (a template value shows on one line)."""
    return " ".join(text.split())


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def gist(text: str) -> str:
    """What the notice says in a few words: its first line without the ticket number and decoration."""
    for line in text.splitlines():
        words = one_line(_DECORATION.sub("", TICKET.sub("", line)))
        words = _DECORATION.sub("", words).strip(" :：,，·-")
        if words:
            return words
    return ""


def parse(spec: str) -> list[tuple[str, str]]:
    """WECHAT_TEMPLATE_FIELDS as (field, part) pairs."""
    pairs = []
    for pair in spec.split(","):
        field, _, part = pair.partition("=")
        if field.strip():
            pairs.append((field.strip(), part.strip()))
    return pairs


def template_data(
    spec: str, text: str, hint: str, when: str, status: str = "", ask: str = ""
) -> dict[str, dict[str, str]]:
    """Template message fields from WECHAT_TEMPLATE_FIELDS.

    Parts: title (first line), body (the other lines), text (all), gist (the first line in a few words),
    number (the ticket number), status (a word or two: an update, or an answer wanted), time, hint;
    anything else is taken literally. Every value is one line within its field's limit. `ask` ends the
    gist of a question ("reply to answer"): with `first` and `remark` gone, the gist is where it shows.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = lines[0] if lines else ""
    match = TICKET.search(text)
    parts = {
        "title": title,
        "body": " ".join(lines[1:]) or title,
        "text": " ".join(lines),
        "gist": gist(text),
        "number": match.group(0) if match else "—",
        "status": status,
        "time": when,
        "hint": hint,
    }
    data = {}
    for field, part in parse(spec):
        limit = field_limit(field)
        value = one_line(parts.get(part, part))
        if part == "gist" and ask and limit > len(ask):
            value = cut(value, limit - len(ask)) + ask if value else ask.lstrip(",，;； ")
        data[field] = {"value": cut(value, limit) or "—"}
    return data


def warnings(spec: str) -> list[str]:
    """What in WECHAT_TEMPLATE_FIELDS WeChat would not show, or would show cut (for `baoxiu wechat check`)."""
    found = []
    for field, part in parse(spec):
        limit = field_limit(field)
        if field in HIDDEN:
            found.append(
                f"{field}={part}: WeChat no longer shows `first` or `remark` (since 2023-05-04); "
                "put it in a keyword field or leave it out"
            )
        elif part in PARTS and part not in SHORT_PARTS and limit < 200:
            found.append(f"{field}={part}: free text in a field of {limit} characters is often cut")
        elif part not in PARTS and len(part) > limit:
            found.append(f"{field}={part}: {len(part)} characters, the field shows {limit}")
        elif part == "status" and limit < 4:
            found.append(f"{field}={part}: the status needs a field of at least 4 characters")
    if not any(part == "number" for _, part in parse(spec)):
        found.append("no field carries the ticket number (number)")
    return found
