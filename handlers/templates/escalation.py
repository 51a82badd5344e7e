"""Notices the timers send: nobody grabbed (supervisor, then manager), and chases of a stalled job."""

from __future__ import annotations

from typing import Any

from handlers.buttons import AssignTap, encode
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    message,
    status_words,
    technician_name,
)


def _assign_buttons(v: View) -> list[list[Choice]]:
    rows: list[list[Choice]] = []
    for b in v.notice.data.get("buttons", []):
        label = v.t("{name} ({n} open)", name=b["name"], n=b["open"])
        if b.get("full"):
            label += " " + v.t("(full today)")
        rows.append([Choice(encode(AssignTap(b["token"])), label)])
    return rows


def escalate_supervisor(v: View) -> Outbound:
    """Nobody grabbed in the window: the area's supervisor assigns."""
    d: dict[str, Any] = v.notice.data
    text = v.t(
        "⏰ Nobody has taken {headline} ({where}) for {waited} min. Tap a technician to assign it, or send "
        "/assign {number} NAME.",
        headline=v.headline(),
        where=v.where(),
        waited=d["waited"],
        number=v.ticket.number,
    )
    if not d.get("buttons"):
        text += "\n" + v.t("No technician qualifies right now (off duty, skills or area).")
    return message(text, choices=_assign_buttons(v), important=True)


def escalate_manager(v: View) -> Outbound:
    """Still unassigned after the supervisor's window: the manager steps in."""
    return message(
        v.t(
            "⚠️ {headline} ({where}) still has no technician after {waited} min, although the supervisor "
            "was told. Please step in: tap a technician or send /assign {number} NAME.",
            headline=v.headline(),
            where=v.where(),
            waited=v.notice.data["waited"],
            number=v.ticket.number,
        ),
        choices=_assign_buttons(v),
        important=True,
    )


async def chase_contact(v: View) -> Outbound:
    """T2 missed."""
    return message(
        v.t(
            "⏰ {technician} has not contacted the resident of {number} yet, {late} min after taking it. "
            "Please call them, or send /reassign {number} NAME.",
            technician=await v.name(v.notice.data.get("technician_id")),
            number=v.ticket.number,
            late=v.notice.data["late"],
        ),
        important=True,
    )


async def chase_arrival(v: View) -> Outbound:
    """Urgent work not reached in time."""
    return message(
        v.t(
            "⏰ {technician} is not on site for urgent job {number}, {late} min after taking it. The "
            "resident has been told. Please check, or send /reassign {number} NAME.",
            technician=await v.name(v.notice.data.get("technician_id")),
            number=v.ticket.number,
            late=v.notice.data["late"],
        ),
        important=True,
    )


async def late_resident(v: View) -> Outbound:
    """The resident hears about a delay before they have to ask."""
    return message(
        v.t(
            "Sorry, {technician} is running late for your request {number}. The supervisor is following "
            "up and we will tell you the new arrival time.",
            technician=await v.name(v.notice.data.get("technician_id")),
            number=v.ticket.number,
        ),
        important=True,
    )


async def chase_stall(v: View) -> Outbound:
    """No progress since dispatch."""
    return message(
        v.t(
            "⏰ No progress on {number} for {late} min since {technician} took it. Please check with them.",
            number=v.ticket.number,
            late=v.notice.data["late"],
            technician=await v.name(v.notice.data.get("technician_id")),
        ),
        important=True,
    )


def unfinished_today(v: View) -> Outbound:
    """Customer service tracks what wasn't done the same day."""
    return message(
        v.t(
            "📋 {headline} was not finished today (now: {status}). Please find out why and note it.",
            headline=v.headline(),
            status=status_words(v),
        )
    )


def hold_over_technician(v: View) -> Outbound:
    """The hold's expected date has passed."""
    return message(
        v.t(
            "⏰ {number} was expected to continue today. Please resume it or update the hold.",
            number=v.ticket.number,
        ),
        important=True,
    )


async def chase_hold(v: View) -> Outbound:
    """The supervisor hears that a hold ran over."""
    return message(
        v.t(
            "⏰ {number} ({technician}) is still on hold after its expected date.",
            number=v.ticket.number,
            technician=await technician_name(v),
        )
    )
