"""Completion: after-photos, materials, labour and fee; the resident is asked to confirm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import patrols, timers
from dispatch.incidents import progress
from dispatch.lifecycle import Status, allowed, transition
from dispatch.notices import Notices
from dispatch.planned.rules import residentless
from dispatch.policy import Policy
from dispatch.repair.quotes import pending_quote
from dispatch.repair.rules import JobRefused, move, require_holder
from storage.models import Person, Quote, Ticket, TicketPhoto


async def complete(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    *,
    after_photos: list[str],
    materials: str,
    labour_minutes: int,
    fee_cents: int | None,
    customer_materials: str,
    now: datetime,
    notices: Notices,
    policy: Policy,
) -> None:
    """Done: after-photos, materials, labour and fee recorded; the resident is asked to confirm."""
    require_holder(ticket, tech)
    if not allowed(ticket.status, Status.COMPLETED):
        raise JobRefused("status", status=ticket.status)
    if len(after_photos) < policy.min_after_photos:
        raise JobRefused("photos", n=policy.min_after_photos)
    if await pending_quote(session, ticket.id) is not None:
        raise JobRefused("quote_pending")
    if not 0 <= labour_minutes <= 24 * 60 or (
        fee_cents is not None and not 0 <= fee_cents <= policy.max_quote_cents
    ):
        raise JobRefused("numbers")
    if fee_cents is None:
        approved = (
            (
                await session.execute(
                    select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "approved")
                )
            )
            .scalars()
            .all()
        )
        fee_cents = sum(q.total_cents for q in approved)
    for sha in after_photos:
        session.add(
            TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="after", added_by=tech.id, added_at=now)
        )
    ticket.materials, ticket.labour_minutes, ticket.fee_cents = materials[:2000], labour_minutes, fee_cents
    ticket.customer_materials = customer_materials[:1000]
    await move(
        session,
        ticket,
        Status.COMPLETED,
        now,
        tech.id,
        "completed",
        fee_cents=fee_cents,
        labour_minutes=labour_minutes,
        photos=len(after_photos),
    )
    await timers.cancel(
        session, ticket.id, [timers.CONTACT, timers.ARRIVAL, timers.STALL, timers.SAME_DAY, timers.HOLD_END]
    )
    if residentless(ticket):
        # A repair the office opened itself (a failed planned check): nobody to confirm or rate it.
        await transition(session, ticket, Status.CLOSED, now=now, actor_id=None, kind="closed", planned=True)
        return
    if not patrols.has_resident(ticket):
        await patrols.ask_check(session, ticket, notices)
    else:
        timers.start(session, ticket.id, timers.CONFIRM_REMIND, now + policy.confirm_reminder, now=now)
        timers.start(session, ticket.id, timers.CONFIRM_TIMEOUT, now + policy.confirm_timeout, now=now)
        notices.person("completed", ticket.id, ticket.resident_id)
    # One repair for an outage: every report linked to it is now asked "fixed?" too.
    await progress.close(session, ticket, tech.id, now, notices, policy)
