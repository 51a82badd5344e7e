"""Notices about offers (抢单): the offer with its Accept button, taken or closed copies, a decline."""

from __future__ import annotations

from handlers.buttons import OfferTap, encode
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    message,
)

OFFER_REF = "offer:{}"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def offer(v: View) -> Outbound:
    """A grab offer: no phone number and no room number, wherever it goes."""
    t, tk = v.t, v.ticket
    lines = [
        t("🔧 New job {headline}", headline=v.headline()),
        v.where(),
        _short(tk.description),
        t("Preferred time: {window}", window=t(tk.preferred_window)),
    ]
    token = str(v.notice.data["token"])
    buttons = [Choice(encode(OfferTap(token, OfferTap.ACCEPT)), t("✋ Accept"))]
    if not v.notice.data.get("group"):
        buttons.append(Choice(encode(OfferTap(token, OfferTap.DECLINE)), t("Not for me")))
    return message("\n".join(lines), choices=[buttons], ref=OFFER_REF.format(tk.id))


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


def offer_declined(v: View) -> Outbound:
    """The decliner's copy."""
    return message(
        v.t("You passed on {number}.", number=v.ticket.number), edit_ref=OFFER_REF.format(v.ticket.id)
    )
