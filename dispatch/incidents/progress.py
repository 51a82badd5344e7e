"""Progress on an incident reaching every reporter: the technician's steps relayed, a supervisor's posts,
and the close that asks each of them "fixed?"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff, timers
from dispatch.incidents.linking import incident_of, linked
from dispatch.lifecycle import Status, log, transition
from dispatch.notices import Notice, Notices
from dispatch.policy import Policy
from dispatch.repair.rules import JobRefused
from storage.models import Incident, Ticket

# What the working ticket's resident is told that every linked reporter wants to hear too.
RELAYED = frozenset({"on_the_way", "appointment_set", "appointment_moved", "arrived", "on_hold", "resumed"})
# What a supervisor may post: the technician is on the way, an expected time, a note in their own words.
POSTS = ("on_the_way", "eta", "note")
# Residents' group chats bound with /bindgroup residents get each update once.
RESIDENTS_GROUP = "residents"


async def relay(session: AsyncSession, ticket: Ticket, notices: Notices) -> int:
    """Copy the working ticket's progress notices to every linked reporter; return how many were added."""
    if ticket.incident_id is None:
        return 0
    incident = await incident_of(session, ticket)
    if incident is None or incident.ticket_id != ticket.id or incident.status != "open":
        return 0
    steps = [n for n in notices if n.ticket_id == ticket.id and n.kind in RELAYED and not n.has_chat]
    added = 0
    for step in steps:
        data = {**step.data, "what": step.kind, "working": ticket.number}
        added += await _spread(session, incident, ticket, notices, data, include_working=False)
    return added


async def post(
    session: AsyncSession,
    incident: Incident,
    actor_id: int,
    what: str,
    now: datetime,
    notices: Notices,
    *,
    eta: datetime | None = None,
    note: str = "",
) -> int:
    """A supervisor's update, posted once: every reporter (and residents' groups) told; return how many."""
    if what not in POSTS:
        raise JobRefused("incident_post")
    if incident.status != "open":
        raise JobRefused("incident_closed")
    working = await session.get(Ticket, incident.ticket_id)
    assert working is not None
    if what == "eta":
        if eta is None:
            raise JobRefused("incident_post")
        incident.eta_at = eta
    incident.last_update = note[:1000] if what == "note" else what
    log(session, working, "incident_update", now=now, actor_id=actor_id, what=what, note=note[:1000])
    data = {
        "what": what,
        "working": working.number,
        "eta": eta.isoformat() if eta else "",
        "note": note[:1000],
    }
    return await _spread(session, incident, working, notices, data, include_working=True)


async def close(
    session: AsyncSession,
    working: Ticket,
    actor_id: int | None,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> int:
    """The working ticket is done: every linked report is completed and its resident asked "fixed?"."""
    incident = await incident_of(session, working)
    if incident is None or incident.ticket_id != working.id or incident.status != "open":
        return 0
    incident.status, incident.closed_at = "closed", now
    reports = [t for t in await linked(session, incident) if t.status == Status.LINKED]
    for report in reports:
        await transition(
            session,
            report,
            Status.COMPLETED,
            now=now,
            actor_id=actor_id,
            kind="completed",
            incident=incident.id,
        )
        timers.start(session, report.id, timers.CONFIRM_REMIND, now + policy.confirm_reminder, now=now)
        timers.start(session, report.id, timers.CONFIRM_TIMEOUT, now + policy.confirm_timeout, now=now)
        notices.person("completed", report.id, report.resident_id)
    for group in await staff.groups(session, incident.community, RESIDENTS_GROUP):
        notices.chat(
            "incident_progress",
            working.id,
            group.channel,
            group.chat_id,
            what="fixed",
            working=working.number,
        )
    log(session, working, "incident_closed", now=now, actor_id=actor_id, reports=len(reports))
    return len(reports)


async def _spread(
    session: AsyncSession,
    incident: Incident,
    working: Ticket,
    notices: Notices,
    data: Mapping[str, object],
    *,
    include_working: bool,
) -> int:
    added: list[Notice] = []
    if include_working and working.origin == "resident":
        added.append(Notice("incident_progress", working.id, person_id=working.resident_id, data=dict(data)))
    for report in await linked(session, incident):
        if report.status == Status.LINKED:
            added.append(
                Notice("incident_progress", report.id, person_id=report.resident_id, data=dict(data))
            )
    for group in await staff.groups(session, incident.community, RESIDENTS_GROUP):
        added.append(
            Notice(
                "incident_progress", working.id, channel=group.channel, chat_id=group.chat_id, data=dict(data)
            )
        )
    notices.extend(added)
    return len(added)
