"""Paid work (有偿服务): the technician quotes items and prices, the resident approves or declines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status, log
from dispatch.notices import Notices
from dispatch.policy import Policy
from dispatch.repair.rules import JobRefused, require_holder
from storage.models import Person, Quote, Ticket


def parse_quote(text: str, policy: Policy) -> list[tuple[str, int]]:
    """Lines of "item amount" (换水龙头 80 / 人工 50.5) into (item, cents); refuse nonsense."""
    items: list[tuple[str, int]] = []
    for raw in text.replace("，", "\n").replace(",", "\n").splitlines():
        line = raw.strip().replace("¥", " ").replace("元", " ").replace("￥", " ")
        if not line:
            continue
        name, _, amount = line.rpartition(" ")
        try:
            cents = round(float(amount) * 100)
        except ValueError:
            raise JobRefused("quote_format", line=raw.strip()[:40]) from None
        if not name.strip():
            raise JobRefused("quote_format", line=raw.strip()[:40])
        if cents <= 0 or cents > policy.max_quote_cents:
            raise JobRefused("quote_amount", line=raw.strip()[:40])
        items.append((name.strip()[:60], cents))
    if not items or len(items) > policy.max_quote_items:
        raise JobRefused("quote_format", line="")
    if sum(c for _, c in items) > policy.max_quote_cents:
        raise JobRefused("quote_amount", line="")
    return items


async def quote(
    session: AsyncSession,
    ticket: Ticket,
    tech: Person,
    items: list[tuple[str, int]],
    now: datetime,
    notices: Notices,
) -> Quote:
    """Paid work: the resident must approve the price before the work goes on."""
    require_holder(ticket, tech)
    if ticket.status not in (Status.ON_SITE, Status.IN_PROGRESS):
        raise JobRefused("status", status=ticket.status)
    if await pending_quote(session, ticket.id) is not None:
        raise JobRefused("quote_pending")
    row = Quote(
        ticket_id=ticket.id,
        items=[f"{name}\t{cents}" for name, cents in items],
        total_cents=sum(c for _, c in items),
        status="pending",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    log(session, ticket, "quoted", now=now, actor_id=tech.id, quote=row.id, total_cents=row.total_cents)
    notices.person("quote", ticket.id, ticket.resident_id, quote=row.id)
    return row


def quote_items(row: Quote) -> list[tuple[str, int]]:
    """The stored items of a quote."""
    return [(name, int(cents)) for name, _, cents in (i.rpartition("\t") for i in row.items)]


async def pending_quote(session: AsyncSession, ticket_id: int) -> Quote | None:
    """The quote waiting for the resident, if any."""
    stmt = select(Quote).where(Quote.ticket_id == ticket_id, Quote.status == "pending")
    return (await session.execute(stmt)).scalars().first()


async def decide_quote(
    session: AsyncSession,
    row: Quote,
    resident: Person,
    approve: bool,
    now: datetime,
    notices: Notices,
    reason: str = "",
) -> Ticket:
    """The resident approves or declines; a declined quote's work does not go ahead and the reason is kept."""
    ticket = await session.get(Ticket, row.ticket_id)
    if ticket is None or ticket.resident_id != resident.id:
        raise JobRefused("not_yours")
    if row.status != "pending":
        raise JobRefused("quote_decided", status=row.status)
    row.status, row.decided_at, row.reason = ("approved" if approve else "declined"), now, reason[:200]
    ticket.updated_at = now
    log(
        session,
        ticket,
        "quote_approved" if approve else "quote_declined",
        now=now,
        actor_id=resident.id,
        quote=row.id,
        total_cents=row.total_cents,
        reason=reason[:200],
    )
    if ticket.technician_id is not None:
        notices.person("quote_decided", ticket.id, ticket.technician_id, approved=approve, quote=row.id)
    return ticket
