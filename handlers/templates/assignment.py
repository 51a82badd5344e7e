"""Notices about who holds a job: the details for the holder, the resident told, hand-backs, the queue."""

from __future__ import annotations

from dispatch.planned.rules import residentless
from handlers.buttons import ResidentTap, encode
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    duration,
    message,
    reason,
    resident_token,
)
from storage.repositories import Tickets


async def job_details(v: View) -> Outbound:
    """Everything the holder needs, in private only: full address, phone, photos."""
    t, tk = v.t, v.ticket
    photos = [p.sha256 for p in await Tickets(v.session).photos(tk.id, stage="before")]
    if residentless(tk) or tk.origin == "patrol":
        # Work the office started itself: nobody to call; the card's steps say what to do on site.
        lines = [
            t("📋 Your job {headline}", headline=v.headline()),
            t("Address: {where}", where=v.where(private=True)),
            *(
                [t("Location pin: {lat:.5f}, {lon:.5f}", lat=tk.latitude, lon=tk.longitude)]
                if tk.latitude is not None
                else []
            ),
            t("Problem: {text}", text=tk.description),
            t("Planned by the office: there is no resident to contact.")
            if residentless(tk)
            else t("Found on a patrol by staff: there is no resident to contact."),
        ]
        return message("\n".join(lines), photos=photos[:9], important=True)
    v.audit("job_details", room=True)
    # Where, when and by when first, the resident's own words last: a channel that keeps only so many bytes
    # of a message (WeCom keeps 2048) or a reader who stops early still has what the visit needs.
    lines = [
        t("📋 Your job {headline}", headline=v.headline()),
        t("Address: {where}", where=v.where(private=True)),
    ]
    if tk.latitude is not None:
        lines.append(t("Location pin: {lat:.5f}, {lon:.5f}", lat=tk.latitude, lon=tk.longitude))
    lines += [
        t("Resident's phone: {phone}", phone=tk.phone),
        t("Preferred time: {window}", window=t(tk.preferred_window)),
        t("Please contact the resident within {limit}.", limit=duration(v, "contact")),
    ]
    if tk.voice_ref:
        lines.append(t("The resident also left a voice message."))
    lines.append(t("Problem: {text}", text=tk.description))
    return message("\n".join(lines), photos=photos[:9], important=True)


def reassigned(v: View) -> Outbound:
    """The resident hears about a change of technician."""
    return message(
        v.t(
            "Your request {number} has been passed to {technician}, who will contact you shortly.",
            number=v.ticket.number,
            technician=v.notice.data["technician"],
        ),
        important=True,
    )


def job_removed(v: View) -> Outbound:
    """The previous holder is stood down."""
    return message(
        v.t(
            "{number} has been reassigned to {to} by {by}. You don't need to go.",
            number=v.ticket.number,
            to=v.notice.data["to"],
            by=v.notice.data["by"],
        ),
        important=True,
    )


def queued(v: View) -> Outbound:
    """Honest news when everyone is full."""
    return message(
        v.t(
            "All our technicians are fully booked right now. Your request {number} is queued for the "
            "next slot ({slot}); a supervisor has been told.",
            number=v.ticket.number,
            slot=v.local(v.notice.data["slot"]),
        ),
        important=True,
    )


def queue_supervisor(v: View) -> Outbound:
    """A supervisor sees what waits in the queue."""
    return message(
        v.t(
            "📥 Queued, every technician is full: {headline}, {where}. It will be offered again at "
            "{slot}. To assign by hand: /assign {number} NAME",
            headline=v.headline(),
            where=v.where(),
            slot=v.local(v.notice.data["slot"]),
            number=v.ticket.number,
        )
    )


async def assigned(v: View) -> Outbound:
    """Who is coming, the arrival code, and the "technician is here" button; never sent to a group."""
    token = await resident_token(v)
    text = v.t(
        "Good news: {technician} has taken your request {number}.",
        technician=v.notice.data["technician"],
        number=v.ticket.number,
    )
    text += "\n" + v.t(
        "Your verification code is {code}. Tell it to the technician at your door; it confirms "
        "that the right person arrived.",
        code=v.notice.data["code"],
    )
    return message(
        text,
        choices=[[Choice(encode(ResidentTap(token, ResidentTap.HERE)), v.t("The technician is here"))]],
        important=True,
    )


def handed_back(v: View) -> Outbound:
    """The resident hears that another technician is being found."""
    return message(
        v.t(
            "The technician couldn't continue with {number} ({reason}); we are finding another one for you.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


def handed_back_supervisor(v: View) -> Outbound:
    """The supervisor hears about a hand-back."""
    return message(
        v.t(
            "↩️ {technician} handed back {number} ({reason}); it is offered again.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
            reason=reason(v),
        )
    )
