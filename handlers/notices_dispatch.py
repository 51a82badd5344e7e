"""Message templates for dispatch notices: offers, assignment, escalation and chases."""

from __future__ import annotations

from typing import Any

from handlers.messages import Choice, Outbound
from handlers.notify import View, duration, message, status_words, template
from storage.repositories import Tickets

OFFER_REF = "offer:{}"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@template("offer")
def offer(v: View) -> Outbound:
    """A grab offer: no phone number and no room number, wherever it goes."""
    t, tk = v.t, v.ticket
    lines = [
        t("🔧 New job {headline}", headline=v.headline()),
        v.where(),
        _short(tk.description),
        t("Preferred time: {window}", window=t(tk.preferred_window)),
    ]
    buttons = [Choice(f"o:{v.notice.data['token']}:a", t("✋ Accept"))]
    if not v.notice.data.get("group"):
        buttons.append(Choice(f"o:{v.notice.data['token']}:d", t("Not for me")))
    return message("\n".join(lines), choices=[buttons], ref=OFFER_REF.format(tk.id))


@template("offer_closed")
def offer_closed(v: View) -> Outbound:
    """Every copy of an offer once someone holds the job."""
    t, d = v.t, v.notice.data
    if d.get("winner"):
        text = t("✅ You took {number}. The details are in your private chat.", number=v.ticket.number)
    elif d.get("how") == "assigned":
        text = t(
            "{number} was assigned to {holder} by the supervisor.", number=v.ticket.number, holder=d["holder"]
        )
    else:
        text = t("{number} was taken by {holder}.", number=v.ticket.number, holder=d["holder"])
    return message(text, edit_ref=OFFER_REF.format(v.ticket.id))


@template("offer_declined")
def offer_declined(v: View) -> Outbound:
    """The decliner's copy."""
    return message(
        v.t("You passed on {number}.", number=v.ticket.number), edit_ref=OFFER_REF.format(v.ticket.id)
    )


@template("job_details")
async def job_details(v: View) -> Outbound:
    """Everything the holder needs, in private only: full address, phone, photos."""
    t, tk = v.t, v.ticket
    photos = [p.sha256 for p in await Tickets(v.session).photos(tk.id, stage="before")]
    lines = [
        t("📋 Your job {headline}", headline=v.headline()),
        t("Address: {where}", where=v.where(private=True)),
        t("Resident's phone: {phone}", phone=tk.phone),
        t("Problem: {text}", text=tk.description),
        t("Preferred time: {window}", window=t(tk.preferred_window)),
        t("Please contact the resident within {limit}.", limit=duration(v, "contact")),
    ]
    if tk.latitude is not None:
        lines.append(t("Location pin: {lat:.5f}, {lon:.5f}", lat=tk.latitude, lon=tk.longitude))
    if tk.voice_ref:
        lines.append(t("The resident also left a voice message."))
    return message("\n".join(lines), photos=photos[:9], important=True)


@template("reassigned")
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


@template("job_removed")
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


@template("queued")
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


@template("queue_supervisor")
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


def _assign_buttons(v: View) -> list[list[Choice]]:
    rows: list[list[Choice]] = []
    for b in v.notice.data.get("buttons", []):
        label = v.t("{name} ({n} open)", name=b["name"], n=b["open"])
        if b.get("full"):
            label += " " + v.t("(full today)")
        rows.append([Choice(f"as:{b['token']}", label)])
    return rows


@template("escalate_supervisor")
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


@template("escalate_manager")
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


@template("chase_contact")
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


@template("chase_arrival")
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


@template("late_resident")
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


@template("chase_stall")
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


@template("unfinished_today")
def unfinished_today(v: View) -> Outbound:
    """Customer service tracks what wasn't done the same day."""
    return message(
        v.t(
            "📋 {headline} was not finished today (now: {status}). Please find out why and note it.",
            headline=v.headline(),
            status=status_words(v),
        )
    )
