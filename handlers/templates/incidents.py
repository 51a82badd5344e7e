"""Notices of incidents and patrol finds: joined, progress for every reporter, the supervisor's check."""

from __future__ import annotations

from datetime import datetime

from dispatch.tokens import token_for
from handlers.buttons import CheckTap, encode
from handlers.messages import Choice, Outbound
from handlers.templates.offers import OFFER_REF
from handlers.templates.view import View, local_time, message, technician_name


def incident_joined(v: View) -> Outbound:
    """A report is now part of an incident: the resident knows it is being worked, and that it's one job."""
    d = v.notice.data
    if d.get("joined"):
        text = v.t(
            "You have joined {working}: {n} households reported this. Your request is {number}; we will tell "
            "you every step and ask you at the end whether it is fixed at your home.",
            working=d["working"],
            n=d["n"],
            number=v.ticket.number,
        )
    else:
        text = v.t(
            "Your request {number} is the same fault as {working}, which {n} households reported; it is "
            "handled as one job. We will tell you every step and ask you at the end whether it is fixed.",
            working=d["working"],
            n=d["n"],
            number=v.ticket.number,
        )
    return message(text)


def incident_progress(v: View) -> Outbound:
    """One update on an incident, for each reporter and residents' groups."""
    d, t = v.notice.data, v.t
    what, working = str(d.get("what", "")), str(d.get("working", v.ticket.number))
    eta = str(d.get("eta") or "")
    if what == "on_the_way":
        text = t("Update on {working}: the technician is on the way.", working=working)
        if eta:
            text += "\n" + t("Expected at {at}.", at=local_time(v, eta))
    elif what == "eta" and eta:
        text = t("Update on {working}: expected to be fixed by {at}.", working=working, at=local_time(v, eta))
    elif what in ("appointment_set", "appointment_moved"):
        text = t("Update on {working}: the technician will come at {at}.", working=working, at=_at(v, d))
    elif what == "arrived":
        text = t("Update on {working}: the technician is on site.", working=working)
    elif what == "on_hold":
        text = t("Update on {working}: the work is waiting (for parts or another trade).", working=working)
    elif what == "resumed":
        text = t("Update on {working}: work has started again.", working=working)
    elif what == "fixed":
        text = t("{working} is fixed. Thank you for your patience.", working=working)
    else:
        text = t("Update on {working}: {note}", working=working, note=str(d.get("note", "")))
    return message(text, important=what == "fixed")


def _at(v: View, d: dict[str, object]) -> str:
    value = d.get("at") or d.get("eta") or ""
    return local_time(v, value) if isinstance(value, str | datetime) and value else ""


def offer_linked(v: View) -> Outbound:
    """An open offer copy of a report that joined an incident: nothing to take."""
    return message(
        v.t(
            "{number} is part of {working} now; no need to take it.",
            number=v.ticket.number,
            working=v.notice.data.get("working", ""),
        ),
        edit_ref=OFFER_REF.format(v.ticket.id),
    )


async def patrol_check(v: View) -> Outbound:
    """The work on a patrol find is done: the supervisor checks it (no resident will)."""
    reader = v.reader.id if v.reader else None
    token = await token_for(v.session, "check", v.ticket.id, reader, v.services.clock.now())
    text = v.t(
        "🔎 Please check patrol find {headline}\n{where}\nDone by {technician}. Is it fixed?",
        headline=v.headline(),
        where=v.where(),
        technician=await technician_name(v),
    )
    choices = [
        [
            Choice(encode(CheckTap(token, CheckTap.FIXED)), v.t("✅ Fixed")),
            Choice(encode(CheckTap(token, CheckTap.NOT_FIXED)), v.t("❌ Not fixed")),
        ]
    ]
    return message(text, choices=choices, important=True)


def patrol_checked(v: View) -> Outbound:
    """The technician hears their patrol job passed the check."""
    return message(
        v.t(
            "{checker} checked {number}: fixed. The job is closed.",
            checker=v.notice.data.get("checker", ""),
            number=v.ticket.number,
        )
    )
