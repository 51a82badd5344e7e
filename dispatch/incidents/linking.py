"""Making an incident and linking reports to it: a resident joining, or a supervisor declaring and linking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import timers
from dispatch.incidents.matching import WORKING, reports
from dispatch.lifecycle import Status, log, transition
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from storage.models import Incident, Offer, Ticket

# Tickets a supervisor may link: nobody has started on them yet.
LINKABLE = (Status.SUBMITTED, Status.OFFERED)
# The working ticket of a new incident: anything not finished.
DECLARABLE = WORKING


async def incident_of(session: AsyncSession, ticket: Ticket) -> Incident | None:
    """The incident a ticket works or is linked to."""
    if ticket.incident_id is None:
        return None
    return await session.get(Incident, ticket.incident_id)


async def declare(
    session: AsyncSession, ticket: Ticket, actor_id: int | None, now: datetime
) -> tuple[Incident, bool]:
    """The ticket's incident, made now if it has none (True when new); the ticket becomes its working one."""
    # Lock the working ticket's row: two residents joining at once must find one incident, not make two.
    locked = (
        await session.execute(
            select(Ticket)
            .where(Ticket.id == ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if locked.incident_id is not None:
        incident = await session.get(Incident, locked.incident_id)
        assert incident is not None
        return incident, False
    if locked.status not in DECLARABLE or locked.kind != "repair":
        raise JobRefused("status", status=locked.status)
    incident = Incident(
        community=locked.community,
        ticket_id=locked.id,
        status="open",
        declared_by=actor_id,
        created_at=now,
        last_update="",
    )
    session.add(incident)
    await session.flush()
    locked.incident_id = incident.id
    log(session, locked, "incident_declared", now=now, actor_id=actor_id, incident=incident.id)
    return incident, True


async def link(
    session: AsyncSession,
    incident: Incident,
    ticket: Ticket,
    actor_id: int | None,
    now: datetime,
    notices: Notices,
    *,
    joined: bool,
) -> None:
    """Link a report to the incident: its offers withdrawn, its timers stopped, its resident told."""
    if ticket.incident_id == incident.id:
        raise JobRefused("already_linked")
    if ticket.status not in LINKABLE or ticket.kind != "repair" or ticket.incident_id is not None:
        raise JobRefused("status", status=ticket.status)
    working = await session.get(Ticket, incident.ticket_id)
    assert working is not None
    await _withdraw_offers(session, ticket, working, now, notices)
    await timers.cancel(session, ticket.id, [timers.GRAB, timers.MANAGER, timers.REQUEUE])
    ticket.incident_id = incident.id
    await transition(
        session,
        ticket,
        Status.LINKED,
        now=now,
        actor_id=actor_id,
        kind="linked",
        incident=incident.id,
        working=working.number,
        joined=joined,
    )
    n = await reports(session, working)
    notices.person(
        "incident_joined", ticket.id, ticket.resident_id, working=working.number, n=n, joined=joined
    )


async def _withdraw_offers(
    session: AsyncSession, ticket: Ticket, working: Ticket, now: datetime, notices: Notices
) -> None:
    """Open copies of the report's offer say it is part of the incident now; nobody can take it."""
    copies = (
        (await session.execute(select(Offer).where(Offer.ticket_id == ticket.id, Offer.status == "open")))
        .scalars()
        .all()
    )
    for copy in copies:
        notices.chat(
            "offer_linked",
            ticket.id,
            copy.channel,
            copy.chat_id,
            reader=copy.technician_id,
            working=working.number,
        )
    if copies:
        await session.execute(
            update(Offer)
            .where(Offer.ticket_id == ticket.id, Offer.status == "open")
            .values(status="withdrawn", answered_at=now)
        )


async def linked(session: AsyncSession, incident: Incident) -> Sequence[Ticket]:
    """The reports linked to an incident (not its working ticket), oldest first."""
    stmt = (
        select(Ticket)
        .where(Ticket.incident_id == incident.id, Ticket.id != incident.ticket_id)
        .order_by(Ticket.id)
    )
    return (await session.execute(stmt)).scalars().all()
