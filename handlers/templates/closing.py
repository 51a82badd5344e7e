"""Notices that close the loop: completion and confirmation, rework, follow-up tasks, cancellation."""

from __future__ import annotations

from handlers.buttons import ResidentTap, encode
from handlers.labels import money
from handlers.messages import Choice, Outbound
from handlers.templates.offers import OFFER_REF
from handlers.templates.view import (
    View,
    matter_answer_buttons,
    message,
    reason,
    resident_token,
    technician_name,
)
from storage.repositories import Tickets


async def _confirm_buttons(v: View) -> list[list[Choice]]:
    token = await resident_token(v)
    fixed, not_fixed = (encode(ResidentTap(token, ResidentTap.FIXED, answer)) for answer in ("yes", "no"))
    return [[Choice(fixed, v.t("✅ Fixed")), Choice(not_fixed, v.t("❌ Not fixed"))]]


async def completed(v: View) -> Outbound:
    """Before and after photos with Fixed / Not fixed."""
    if v.ticket.incident_id is not None and v.ticket.technician_id is None:
        # A report linked to an incident: the work was done once, on the incident's own ticket.
        text = v.t(
            "The fault you reported with your neighbours ({number}) has been repaired. Is it fixed at your "
            "home too?",
            number=v.ticket.number,
        )
        return message(text, choices=await _confirm_buttons(v), important=True)
    photos = await Tickets(v.session).photos(v.ticket.id)
    before = [p.sha256 for p in photos if p.stage == "before"][:4]
    after = [p.sha256 for p in photos if p.stage == "after"][:5]
    text = v.t(
        "{technician} has finished your request {number}. Is it fixed?",
        technician=await technician_name(v),
        number=v.ticket.number,
    )
    if v.ticket.fee_cents:
        text += "\n" + v.t("Fee: {fee}", fee=money(v.ticket.fee_cents))
    return message(text, choices=await _confirm_buttons(v), photos=before + after, important=True)


async def confirm_reminder(v: View) -> Outbound:
    """A gentle reminder to confirm."""
    if v.ticket.kind == "matter":
        text = v.t("A reminder: was your {number} handled? Please let us know.", number=v.ticket.number)
        return message(text, choices=await matter_answer_buttons(v), important=True)
    return message(
        v.t("A reminder: is your request {number} fixed? Please let us know.", number=v.ticket.number),
        choices=await _confirm_buttons(v),
        important=True,
    )


def rework_resident(v: View) -> Outbound:
    """Rework promised, with a new code."""
    return message(
        v.t(
            "Sorry it isn't right yet. {number} goes back to the technician; your new verification code "
            "is {code}.",
            number=v.ticket.number,
            code=v.notice.data["code"],
        ),
        important=True,
    )


def rework_technician(v: View) -> Outbound:
    """The technician must go back."""
    return message(
        v.t(
            "🔁 Rework on {number}: {reason}. Please contact the resident again.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


async def rework_supervisor(v: View) -> Outbound:
    """The supervisor is told about rework."""
    return message(
        v.t(
            "🔁 Rework on {number} ({technician}): {reason}.",
            number=v.ticket.number,
            technician=await technician_name(v),
            reason=reason(v),
        )
    )


def followup_task(v: View) -> Outbound:
    """Customer service gets a follow-up task."""
    return message(
        v.t(
            "📞 Follow-up needed for {number}: {reason}. Send /followups to record it.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


def cancelled_technician(v: View) -> Outbound:
    """The holder is stood down."""
    return message(
        v.t(
            "{number} was cancelled by the resident ({reason}). You don't need to go.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


def offer_cancelled(v: View) -> Outbound:
    """An open offer copy after the resident cancelled."""

    return message(
        v.t("{number} was cancelled.", number=v.ticket.number), edit_ref=OFFER_REF.format(v.ticket.id)
    )
