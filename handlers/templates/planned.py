"""Notices about planned maintenance: work not done by its deadline."""

from __future__ import annotations

from handlers.messages import Outbound
from handlers.templates.view import View, message


async def plan_overdue(v: View) -> Outbound:
    """Planned work past its asset's `within`: the area's supervisors (once)."""
    holder = await v.name(v.notice.data.get("technician_id"))
    text = v.t(
        "⏰ Planned maintenance {headline} ({where}) is overdue and not done yet.",
        headline=v.headline(),
        where=v.where(),
    )
    if holder:
        text += " " + v.t(
            "{technician} holds it. Please check, or send /reassign {number} NAME.",
            technician=holder,
            number=v.ticket.number,
        )
    else:
        text += " " + v.t("Nobody has taken it: send /assign {number} NAME.", number=v.ticket.number)
    return message(text, important=True)
