"""Notices about the visit: appointments, on the way, arrival and its code, holds, notes."""

from __future__ import annotations

from handlers.buttons import ResidentTap, encode
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    local_time,
    message,
    reason,
    resident_token,
    technician_name,
)


async def appointment_set(v: View) -> Outbound:
    """The visit time."""
    return message(
        v.t(
            "{technician} will visit for {number} at {at}.",
            technician=await technician_name(v),
            number=v.ticket.number,
            at=local_time(v, v.notice.data["at"]),
        ),
        important=True,
    )


async def appointment_moved(v: View) -> Outbound:
    """Each move, with its reason."""
    return message(
        v.t(
            "Your appointment for {number} has moved to {at} ({reason}). Sorry for the change.",
            number=v.ticket.number,
            at=local_time(v, v.notice.data["at"]),
            reason=reason(v),
        ),
        important=True,
    )


async def on_the_way(v: View) -> Outbound:
    """Leaving now, with the ETA and a reminder of the code."""
    return message(
        v.t(
            "{technician} is on the way for {number}, expected around {eta}. Your verification code "
            "is {code}.",
            technician=await technician_name(v),
            number=v.ticket.number,
            eta=local_time(v, v.notice.data["eta"]),
            code=v.ticket.arrival_code,
        ),
        important=True,
    )


async def arrived(v: View) -> Outbound:
    """Arrival recorded."""
    return message(
        v.t(
            "{technician} has arrived for {number}.",
            technician=await technician_name(v),
            number=v.ticket.number,
        )
    )


async def code_help(v: View) -> Outbound:
    """The code didn't work: the resident can confirm arrival with a tap."""
    token = await resident_token(v)
    return message(
        v.t(
            "{technician} could not enter your code for {number}. If they are at your door, choose “{here}”.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
            here=v.t("The technician is here"),
        ),
        choices=[[Choice(encode(ResidentTap(token, ResidentTap.HERE)), v.t("The technician is here"))]],
        important=True,
    )


def code_locked(v: View) -> Outbound:
    """The supervisor hears about repeated wrong codes."""
    return message(
        v.t(
            "⚠️ {technician} entered a wrong verification code too many times for {number}. Please "
            "check with them and the resident.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
        ),
        important=True,
    )


async def on_hold(v: View) -> Outbound:
    """Paused, why, and until when."""
    until = v.notice.data.get("until")
    text = v.t("Your request {number} is on hold: {reason}.", number=v.ticket.number, reason=reason(v))
    if until:
        text += " " + v.t("We expect to continue on {date}.", date=local_time(v, until))
    return message(text, important=True)


def resumed(v: View) -> Outbound:
    """Work goes on."""
    return message(v.t("Work on your request {number} has resumed.", number=v.ticket.number))


def resident_note(v: View) -> Outbound:
    """A resident's added note or photo reaches the holder."""
    if v.notice.data.get("photo"):
        return message(
            v.t("📝 The resident added a photo to {number}.", number=v.ticket.number),
            photos=[v.notice.data["photo"]],
        )
    return message(
        v.t(
            "📝 The resident added a note to {number}: {text}",
            number=v.ticket.number,
            text=v.notice.data.get("text", ""),
        )
    )
