"""The draft as a request to file (dispatch.tickets.Draft), the same for filing alone and for joining."""

from __future__ import annotations

from dispatch.tickets import Draft
from handlers.context import Context
from handlers.intake.draft import draft
from handlers.intake.window import WINDOWS


def request_of(ctx: Context) -> Draft:
    """What the resident (or staff on a patrol) has told us, ready to file."""
    d, community = draft(ctx), ctx.community
    urgency = community.urgency(d.get("urgency") or "") or community.default_urgency
    return Draft(
        community=community.code,
        scope=d.get("scope") or "in_unit",
        phone=d.get("phone") or "",
        description=d.get("description") or "",
        category=d.get("category") or community.categories[-1].code,
        urgency=urgency.code,
        building=d.get("building"),
        unit=d.get("unit"),
        room=d.get("room"),
        location_text=d.get("location_text") or "",
        latitude=d.get("latitude"),
        longitude=d.get("longitude"),
        voice_ref=d.get("voice_ref") or "",
        preferred_window=d.get("window") or WINDOWS["asap"],
        photos=list(d.get("photos") or []),
        named_technician_id=d.get("named_technician"),
        source=ctx.inbound.identity.channel,
        origin="patrol" if d.get("patrol") else "resident",
    )
