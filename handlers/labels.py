"""Names shown to people: statuses, site things, addresses."""

from __future__ import annotations

from typing import Protocol

from dispatch.site import Community
from handlers.context import Context
from handlers.i18n import N_, Translator
from storage.models import Ticket

STATUS_NAMES = {
    "submitted": N_("Submitted"),
    "offered": N_("Waiting for a technician"),
    "assigned": N_("Technician assigned"),
    "scheduled": N_("Appointment set"),
    "en_route": N_("Technician on the way"),
    "on_site": N_("Technician on site"),
    "on_hold": N_("On hold"),
    "in_progress": N_("Being repaired"),
    "completed": N_("Done, awaiting your confirmation"),
    "confirmed": N_("Confirmed"),
    "followed_up": N_("Followed up"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
    "rejected": N_("Not accepted"),
    "rework": N_("Rework"),
    "linked": N_("Part of an incident"),
}


class Named(Protocol):
    """Anything in the site file with a Chinese and an English name."""

    @property
    def name(self) -> str: ...

    @property
    def name_en(self) -> str: ...


def display(thing: Named | None, language: str) -> str:
    """The name in the reader's language (English falls back to Chinese when not given)."""
    if thing is None:
        return ""
    if language == "en" and thing.name_en:
        return thing.name_en
    return thing.name


# A matter (报事) passes the same statuses, which mean other things there.
MATTER_STATUS_NAMES = {
    "submitted": N_("Waiting for the department"),
    "assigned": N_("Accepted"),
    "in_progress": N_("Being handled"),
    "completed": N_("Handled, awaiting your confirmation"),
    "rejected": N_("Not something the office handles"),
}
MATTER_KIND_NAMES = {
    "complaint": N_("Complaint"),
    "suggestion": N_("Suggestion"),
    "inquiry": N_("Inquiry"),
    "praise": N_("Praise"),
}


def status_name(status: str, t: Translator, kind: str = "repair") -> str:
    """A status in plain words (a matter's own words where they differ from a repair's)."""
    if kind == "matter" and status in MATTER_STATUS_NAMES:
        return t(MATTER_STATUS_NAMES[status])
    return t(STATUS_NAMES.get(status, status))


def matter_kind_name(kind: str, t: Translator) -> str:
    """A matter's kind in plain words."""
    return t(MATTER_KIND_NAMES.get(kind, kind)) if kind else ""


def department_name(community: Community, code: str, language: str) -> str:
    """A department's name, or its code when the site no longer has it."""
    return display(community.matters.department(code), language) or code


def address_label(
    community: Community,
    building: str | None,
    unit: str | None,
    room: str | None,
    language: str,
    *,
    with_room: bool = True,
) -> str:
    """Building, unit and (unless hidden for privacy) room, in the reader's language."""
    b = community.building(building) if building else None
    u = b.unit(unit) if b and unit else None
    parts = [display(b, language) or (building or ""), display(u, language) or (unit or "")]
    if with_room and room:
        parts.append(room)
    return " ".join(p for p in parts if p)


def category_name(community: Community, code: str | None, language: str) -> str:
    """A category's name, or its code when the site no longer has it."""
    if not code:
        return ""
    return display(community.category(code), language) or code


def urgency_name(community: Community, code: str | None, language: str) -> str:
    """An urgency level's name."""
    if not code:
        return ""
    return display(community.urgency(code), language) or code


def money(cents: int) -> str:
    """¥80 or ¥80.50."""
    return f"¥{cents // 100}" if cents % 100 == 0 else f"¥{cents / 100:.2f}"


HOLD_NAMES = {
    "parts": N_("waiting for parts"),
    "long_job": N_("a long job"),
    "other_trade": N_("needs another trade"),
    "resident_absent": N_("resident not at home"),
}


REASONS = {
    "not_fixed": N_("the resident says it is not fixed"),
    "check_failed": N_("the supervisor's check found it not fixed"),
    "followup": N_("customer service found it needs more work"),
    "reopened": N_("a supervisor reopened it"),
    "resident": N_("the resident asked"),
    "parts": N_("waiting for parts"),
    "overrun": N_("the previous job overran"),
    "other": N_("other reason"),
    "other_trade": N_("needs another trade"),
    "unreachable": N_("couldn't reach you"),
    "too_far": N_("couldn't get there in time"),
    "fixed_myself": N_("fixed it myself"),
    "not_needed": N_("no longer needed"),
    "duplicate": N_("reported twice"),
    "too_slow": N_("took too long"),
    "silent": N_("no confirmation from the resident"),
    "unhappy": N_("low rating"),
}


def ticket_line(ctx: Context, ticket: Ticket) -> str:
    """One ticket on one line for staff lists: number, category (or a matter's kind), status."""
    community = ctx.services.site.community(ticket.community) or ctx.community
    what = (
        matter_kind_name(ticket.matter_kind, ctx.t)
        if ticket.kind == "matter"
        else category_name(community, ticket.category, ctx.t.language)
    )
    return f"{ticket.number} · {what} · {status_name(ticket.status, ctx.t, ticket.kind)}"
