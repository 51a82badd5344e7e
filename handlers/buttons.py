"""Button data: the one grammar every button is written in and read back from.

A button's data is `<prefix>[<version>]:<field>:<field>...`, at most 64 bytes (Telegram's limit for
callback data; WeCom's card keys and our WeChat menu ids are as long). The fields are opaque: tokens that the
handler looks up and re-authorises on every tap, never a claim to be trusted.

| prefix | kind        | fields                | written by                        | read by                 |
|--------|-------------|-----------------------|-----------------------------------|-------------------------|
| c      | ChoiceTap   | nonce, index          | Context.ask (a dialog's question) | the router (the dialog) |
| o      | OfferTap    | token, action (a / d) | the offer template                | technician/offers       |
| j      | JobTap      | token, action         | the job card template             | technician/card         |
| r      | ResidentTap | token, verb[, arg]    | resident views and notices        | resident/ticket         |
| as     | AssignTap   | token                 | escalation templates              | office/assign           |
| fu     | FollowUpTap | token                 | /followups                        | office/followups        |
| m      | MatterTap   | token, action[, arg]  | the matter card template          | office/matters          |
| st     | StatsTap    | view, period code     | /stats                            | office/stats            |
| ck     | CheckTap    | token, verdict        | the patrol check template         | office/patrol           |

Versions: the layout of every kind above is version 1, written without a number, so every button already in
people's chats keeps working. A kind whose fields change gets version 2, written `o2:...`; the decoder then
reads both for as long as old buttons may still be tapped, and refuses versions it does not know.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass, fields
from typing import ClassVar

MAX_BYTES = 64
_HEAD = re.compile(r"([a-z]+)(\d*)")


class ButtonDataError(ValueError):
    """Data that cannot be written as a button (a colon in a field, or over 64 bytes)."""


@dataclass(frozen=True)
class Tap:
    """A decoded button; subclasses name their prefix, version and how many trailing fields may be empty."""

    PREFIX: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    # Trailing fields a tap may leave out (read as ""), as a `partition` reader always allowed.
    OPTIONAL: ClassVar[int] = 0


@dataclass(frozen=True)
class ChoiceTap(Tap):
    """An answer to the current question of a dialog (`Context.ask`)."""

    PREFIX: ClassVar[str] = "c"
    nonce: str
    index: str


@dataclass(frozen=True)
class OfferTap(Tap):
    """Accept ("a") or decline ("d") on a grab offer."""

    PREFIX: ClassVar[str] = "o"
    OPTIONAL: ClassVar[int] = 1
    ACCEPT: ClassVar[str] = "a"
    DECLINE: ClassVar[str] = "d"
    token: str
    action: str


@dataclass(frozen=True)
class JobTap(Tap):
    """A step on the technician's job card (contacted, appt, way, arrived, ...)."""

    PREFIX: ClassVar[str] = "j"
    OPTIONAL: ClassVar[int] = 1
    token: str
    action: str


@dataclass(frozen=True)
class ResidentTap(Tap):
    """A resident's action on one of their tickets; `arg` carries a rating, a quote id or yes/no."""

    PREFIX: ClassVar[str] = "r"
    OPTIONAL: ClassVar[int] = 2
    STATUS: ClassVar[str] = "st"
    NOTE: ClassVar[str] = "note"
    CANCEL: ClassVar[str] = "cx"
    HERE: ClassVar[str] = "here"
    FIXED: ClassVar[str] = "fx"
    RATE: ClassVar[str] = "rate"
    APPROVE_QUOTE: ClassVar[str] = "qa"
    DECLINE_QUOTE: ClassVar[str] = "qd"
    token: str
    verb: str
    arg: str = ""


@dataclass(frozen=True)
class AssignTap(Tap):
    """A supervisor's one-tap assignment of a ticket to a technician."""

    PREFIX: ClassVar[str] = "as"
    token: str


@dataclass(frozen=True)
class FollowUpTap(Tap):
    """Customer service starts recording a follow-up call."""

    PREFIX: ClassVar[str] = "fu"
    token: str


@dataclass(frozen=True)
class MatterTap(Tap):
    """A department's step on a matter (报事): accept, reply, hand to someone, forward, handled ..."""

    PREFIX: ClassVar[str] = "m"
    OPTIONAL: ClassVar[int] = 1
    ACCEPT: ClassVar[str] = "a"
    REPLY: ClassVar[str] = "r"
    HAND: ClassVar[str] = "h"
    FORWARD: ClassVar[str] = "f"
    DONE: ClassVar[str] = "d"
    REFUSE: ClassVar[str] = "x"
    REPAIR: ClassVar[str] = "c"
    token: str
    action: str


@dataclass(frozen=True)
class StatsTap(Tap):
    """A detail view of /stats (misses, technicians, hotspots, recurring) for a period's exact days; the
    scope is the tapper's own, checked again on the tap."""

    PREFIX: ClassVar[str] = "st"
    MISSES: ClassVar[str] = "sla"
    TECHNICIANS: ClassVar[str] = "tech"
    HOTSPOTS: ClassVar[str] = "hot"
    RECURRING: ClassVar[str] = "rec"
    view: str
    period: str


@dataclass(frozen=True)
class CheckTap(Tap):
    """A supervisor's check of the work on a patrol find: fixed ("y") or not ("n")."""

    PREFIX: ClassVar[str] = "ck"
    FIXED: ClassVar[str] = "y"
    NOT_FIXED: ClassVar[str] = "n"
    token: str
    verdict: str


KINDS: tuple[type[Tap], ...] = (
    ChoiceTap,
    OfferTap,
    JobTap,
    ResidentTap,
    AssignTap,
    FollowUpTap,
    MatterTap,
    StatsTap,
    CheckTap,
)
_BY_PREFIX: dict[str, type[Tap]] = {kind.PREFIX: kind for kind in KINDS}


def encode(tap: Tap) -> str:
    """The data to put on a button; refuses what could not be read back the same."""
    values = [str(v) for v in astuple(tap)]
    while len(values) > len(fields(tap)) - tap.OPTIONAL and values and values[-1] == "":
        values.pop()
    if any(":" in v for v in values):
        raise ButtonDataError(f"a {type(tap).__name__} field holds a colon: {values}")
    head = tap.PREFIX + (str(tap.VERSION) if tap.VERSION != 1 else "")
    data = ":".join([head, *values])
    if len(data.encode()) > MAX_BYTES:
        raise ButtonDataError(f"button data is {len(data.encode())} bytes, over {MAX_BYTES}: {data!r}")
    return data


def decode(data: str) -> Tap | None:
    """The tap a button's data describes, or None for data no button of ours carries (forged or too old)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    head, _, rest = data.partition(":")
    match = _HEAD.fullmatch(head)
    kind = _BY_PREFIX.get(match.group(1)) if match else None
    if match is None or kind is None or int(match.group(2) or 1) != kind.VERSION:
        return None
    names = [f.name for f in fields(kind)]
    values = rest.split(":", len(names) - 1) if rest else []
    required = len(names) - kind.OPTIONAL
    if len(values) < required or any(not v for v in values[:required]):
        return None
    values += [""] * (len(names) - len(values))
    return kind(*values)


def prefix_of(data: str) -> str:
    """The kind's prefix of button data, version left off ("" when it has none)."""
    match = _HEAD.fullmatch(data.partition(":")[0])
    return match.group(1) if match else ""
