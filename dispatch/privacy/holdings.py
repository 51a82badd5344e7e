"""Everything held about a resident, as plain data and as one ZIP archive (`/mydata`)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.records import full_record
from storage.media import MediaStore
from storage.models import Address, ChannelIdentity, Person, Ticket

# Fields customer service writes about the resident (the follow-up call's outcome and notes): included only
# where the office says so (`BAOXIU_MYDATA_STAFF_NOTES`).
STAFF_NOTE_KEYS = frozenset({"note", "outcome"})
STAFF_NOTE_EVENTS = frozenset({"followed_up"})


async def holdings(
    session: AsyncSession, person: Person, now: datetime, *, staff_notes: bool
) -> dict[str, Any]:
    """The resident's profile, saved addresses, chat accounts and tickets with their timelines."""
    addresses = (
        await session.execute(select(Address).where(Address.person_id == person.id).order_by(Address.id))
    ).scalars()
    identities = (
        await session.execute(select(ChannelIdentity).where(ChannelIdentity.person_id == person.id))
    ).scalars()
    tickets = (
        await session.execute(select(Ticket).where(Ticket.resident_id == person.id).order_by(Ticket.id))
    ).scalars()
    return {
        "generated_at": now.isoformat(),
        "profile": {
            "name": person.name,
            "phone": person.phone,
            "language": person.language,
            "community": person.community,
            "since": person.created_at.isoformat(),
        },
        "addresses": [
            {"community": a.community, "building": a.building, "unit": a.unit, "room": a.room}
            for a in addresses
        ],
        "chat_accounts": [
            {"channel": i.channel, "id": i.external_id, "name": i.display_name} for i in identities
        ],
        "tickets": [_resident_view(await full_record(session, t), person.id, staff_notes) for t in tickets],
    }


def _resident_view(record: dict[str, Any], person_id: int, staff_notes: bool) -> dict[str, Any]:
    """A ticket's record as the resident gets it: staff's notes only where the office includes them."""
    if staff_notes:
        return record
    record = {k: v for k, v in record.items() if k != "followups"}
    record["events"] = [
        {**e, "data": {k: v for k, v in e["data"].items() if k not in STAFF_NOTE_KEYS}}
        if e["kind"] in STAFF_NOTE_EVENTS
        else e
        for e in record["events"]
    ]
    return record


def archive(data: dict[str, Any], media: MediaStore) -> bytes:
    """One ZIP: `data.json`, and each ticket's photos under `photos/NUMBER/` (blocking: run off the loop)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for ticket in data["tickets"]:
            for photo in ticket["photos"]:
                try:
                    path = media.path_for(photo["sha256"])
                except (FileNotFoundError, ValueError):
                    continue  # removed by the retention job: the record still says it existed
                zf.write(path, f"photos/{ticket['number']}/{photo['stage']}-{path.name}")
    return buffer.getvalue()
