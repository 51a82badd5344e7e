"""Notices about paid work: the quote to approve, and the resident's answer to the technician."""

from __future__ import annotations

from dispatch.repair.quotes import quote_items
from handlers.buttons import ResidentTap, encode
from handlers.labels import money
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    message,
    resident_token,
    technician_name,
)
from storage.models import Quote


async def quote(v: View) -> Outbound:
    """Paid work: items, total, approve or decline."""
    row = await v.session.get(Quote, v.notice.data["quote"])
    assert row is not None
    token = await resident_token(v)
    lines = [
        v.t(
            "{technician} quotes for paid work on {number}:",
            technician=await technician_name(v),
            number=v.ticket.number,
        )
    ]
    lines += [f"· {name} {money(cents)}" for name, cents in quote_items(row)]
    lines.append(v.t("Total: {total}. Work goes ahead only if you approve.", total=money(row.total_cents)))
    buttons = [
        Choice(encode(ResidentTap(token, ResidentTap.APPROVE_QUOTE, str(row.id))), v.t("Approve")),
        Choice(encode(ResidentTap(token, ResidentTap.DECLINE_QUOTE, str(row.id))), v.t("Decline")),
    ]
    return message("\n".join(lines), choices=[buttons], important=True)


def quote_decided(v: View) -> Outbound:
    """The technician hears the resident's answer."""
    if v.notice.data.get("approved"):
        return message(
            v.t("The resident approved the quote for {number}. You may go ahead.", number=v.ticket.number),
            important=True,
        )
    return message(
        v.t(
            "The resident declined the quote for {number}. Don't do the paid work; finish what is "
            "covered, or hand the job back.",
            number=v.ticket.number,
        ),
        important=True,
    )
