"""A ticket's full record as plain data: for the CLI, archives and reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUp, Quote, Ticket
from storage.repositories import People, Tickets


def summary(ticket: Ticket) -> dict[str, Any]:
    """The fields a listing shows."""
    return {
        "number": ticket.number,
        "community": ticket.community,
        "status": ticket.status,
        "category": ticket.category,
        "urgency": ticket.urgency,
        "scope": ticket.scope,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }


async def full_record(session: AsyncSession, ticket: Ticket) -> dict[str, Any]:
    """Everything about a ticket: who, where, what, photos and every event with its time."""
    repo, people = Tickets(session), People(session)
    resident = await people.get(ticket.resident_id)
    technician = await people.get(ticket.technician_id) if ticket.technician_id else None
    names: dict[int, str] = {}

    async def name_of(person_id: int | None) -> str | None:
        if person_id is None:
            return None
        if person_id not in names:
            person = await people.get(person_id)
            names[person_id] = person.name if person else f"#{person_id}"
        return names[person_id]

    events: list[dict[str, Any]] = [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "from": e.from_status,
            "to": e.to_status,
            "actor": await name_of(e.actor_id),
            "data": e.data,
        }
        for e in await repo.events(ticket.id)
    ]
    return {
        **summary(ticket),
        "resident": {"id": ticket.resident_id, "name": resident.name if resident else None},
        "technician": {"id": technician.id, "name": technician.name} if technician else None,
        "address": {
            "building": ticket.building,
            "unit": ticket.unit,
            "room": ticket.room,
            "area": ticket.area,
            "location_text": ticket.location_text,
            "latitude": ticket.latitude,
            "longitude": ticket.longitude,
        },
        "phone": ticket.phone,
        "description": ticket.description,
        "voice_ref": ticket.voice_ref,
        "preferred_window": ticket.preferred_window,
        "photos": [
            {"sha256": p.sha256, "stage": p.stage, "added_at": p.added_at.isoformat()}
            for p in await repo.photos(ticket.id)
        ],
        "appointment_at": ticket.appointment_at.isoformat() if ticket.appointment_at else None,
        "appointment_moves": ticket.appointment_moves,
        "work": {
            "materials": ticket.materials,
            "customer_materials": ticket.customer_materials,
            "labour_minutes": ticket.labour_minutes,
            "fee_cents": ticket.fee_cents,
        },
        "quotes": [
            {"items": q.items, "total_cents": q.total_cents, "status": q.status, "reason": q.reason}
            for q in await _rows(session, Quote, ticket.id)
        ],
        "confirmation": {"fixed": ticket.fixed, "rating": ticket.rating, "comment": ticket.comment},
        "followups": [
            {
                "reason": f.reason,
                "status": f.status,
                "outcome": f.outcome,
                "note": f.note,
                "done_at": f.done_at.isoformat() if f.done_at else None,
            }
            for f in await _rows(session, FollowUp, ticket.id)
        ],
        # 100% follow-up: the resident's own rating, or customer service's recorded call.
        "followed_up": any(e["kind"] == "followed_up" or e["data"].get("followup") for e in events),
        "stamps": ticket.stamps,
        "events": events,
    }


async def _rows(session: AsyncSession, model: type[Quote] | type[FollowUp], ticket_id: int) -> Sequence[Any]:
    stmt = select(model).where(model.ticket_id == ticket_id).order_by(model.id)
    return (await session.execute(stmt)).scalars().all()
