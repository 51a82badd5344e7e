"""An important message that could not be delivered: the ticket's log says so and its supervisors are told."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.lifecycle import log as record
from handlers.i18n import Translator
from handlers.messages import Outbound
from storage.models import OutboxMessage, Person
from storage.repositories import People, Tickets

log = logging.getLogger(__name__)
TICKET_NUMBER = re.compile(r"\b[A-Z][A-Z0-9]{0,9}-\d{8}-\d{4,}\b")


async def tell_supervisor(session: AsyncSession, row: OutboxMessage, error: str, now: datetime) -> int:
    """An important message could not be delivered: note it on its ticket and tell the area's supervisors.

    The ticket is found by the number the message mentions (every important notice names its ticket).
    Returns how many messages were queued.
    """
    match = TICKET_NUMBER.search(str(row.payload.get("text", "")))
    ticket = await Tickets(session).by_number(match.group(0)) if match else None
    if ticket is None:
        log.warning("important outbox row %s failed and names no ticket; nobody told", row.id)
        return 0
    people = People(session)
    found = await people.by_identity(row.channel, row.chat_id)
    recipient: Person | None = found[0] if found else None
    who = recipient.name if recipient and recipient.name else ""
    record(
        session,
        ticket,
        "delivery_failed",
        now=now,
        actor_id=None,
        channel=row.channel,
        person=recipient.id if recipient else None,
        error=error[:200],
        outbox=row.id,
    )
    supervisors = [
        p
        for p in await staff.overseers(session, ticket.area, staff.Role.SUPERVISOR, ticket.community)
        if recipient is None or p.id != recipient.id
    ]
    targets: list[tuple[str, str, str]] = []
    for person in supervisors:
        identities = await people.identities(person.id)
        if identities:
            targets.append((identities[0].channel, identities[0].chat_id, person.language or "zh_CN"))
    if not targets:
        for group in await staff.groups(session, ticket.community, "supervisors"):
            targets.append((group.channel, group.chat_id, "zh_CN"))
    reason = "blocked" if "block" in error.lower() or "forbidden" in error.lower() else "failed"
    for channel, chat_id, language in targets:
        if (channel, chat_id) == (row.channel, row.chat_id):
            continue
        t = Translator(language)
        text = (
            t(
                "⚠️ {who} did not get an important message about {number}: they have blocked the bot. "
                "Please reach them another way.",
                who=who or t("Someone"),
                number=ticket.number,
            )
            if reason == "blocked"
            else t(
                "⚠️ An important message about {number} could not be delivered to {who}. "
                "Please reach them another way.",
                who=who or t("someone"),
                number=ticket.number,
            )
        )
        session.add(
            OutboxMessage(
                channel=channel,
                chat_id=chat_id,
                kind="send",
                payload=Outbound(channel, chat_id, text).to_payload(),
                ref="",
                edit_ref="",
                important=False,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(targets)
