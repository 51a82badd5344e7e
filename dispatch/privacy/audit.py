"""The audit of contact details: a row each time staff are shown a resident's phone number or full room.

Written in the transaction that shows them (the job details to the holder, /ticket, a matter's card, an
export with contacts), so a showing that is rolled back leaves no row and one that is sent always has one.
Managers read it with `/audit NUMBER`, the office with `baoxiu audit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ContactView, Person, Ticket

PHONE, ROOM = "phone", "room"


def shown(ticket: Ticket, *, room: bool) -> list[str]:
    """Which of the ticket's contact details a message shows (phone always, the room when asked)."""
    fields = [PHONE] if ticket.phone else []
    if room and ticket.room:
        fields.append(ROOM)
    return fields


def record(
    session: AsyncSession,
    *,
    viewer_id: int | None,
    ticket: Ticket,
    what: str,
    fields: Sequence[str],
    via: str,
    now: datetime,
) -> None:
    """Note that `viewer_id` was shown these fields of the ticket's resident (nothing when none were)."""
    if fields:
        session.add(
            ContactView(
                at=now, viewer_id=viewer_id, ticket_id=ticket.id, what=what, fields=list(fields), via=via
            )
        )


async def record_export(
    session: AsyncSession, ticket_numbers: Iterable[str], *, viewer_id: int | None, via: str, now: datetime
) -> int:
    """One row per exported ticket whose contacts the export carried; how many."""
    numbers = sorted(set(ticket_numbers))
    if not numbers:
        return 0
    found = (await session.execute(select(Ticket).where(Ticket.number.in_(numbers)))).scalars().all()
    values = [
        {"at": now, "viewer_id": viewer_id, "ticket_id": t.id, "what": "export", "fields": f, "via": via}
        for t in found
        if (f := shown(t, room=True))
    ]
    if values:
        await session.execute(insert(ContactView), values)
    return len(values)


@dataclass(frozen=True)
class Entry:
    """One audit row as people read it."""

    at: datetime
    number: str
    viewer: str
    role: str
    what: str
    fields: list[str]
    via: str


async def entries(
    session: AsyncSession, *, ticket_id: int | None = None, since: datetime | None = None, limit: int = 200
) -> list[Entry]:
    """The newest rows first: of one ticket, or all since a time."""
    stmt = (
        select(ContactView, Ticket.number, Person.name, Person.role)
        .join(Ticket, Ticket.id == ContactView.ticket_id)
        .outerjoin(Person, Person.id == ContactView.viewer_id)
        .order_by(ContactView.at.desc(), ContactView.id.desc())
        .limit(limit)
    )
    if ticket_id is not None:
        stmt = stmt.where(ContactView.ticket_id == ticket_id)
    if since is not None:
        stmt = stmt.where(ContactView.at >= since)
    return [
        Entry(row.at, number, name or "", role or "", row.what, list(row.fields), row.via)
        for row, number, name, role in (await session.execute(stmt)).all()
    ]
