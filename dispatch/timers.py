"""Timers as rows: started and cancelled in the transaction of the change, claimed once by the sweep."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Timer

GRAB = "grab"  # grab window over: supervisor
MANAGER = "manager"  # still unassigned after the supervisor's window: manager
CONTACT = "contact"  # T2: technician must have contacted the resident
ARRIVAL = "arrival"  # urgent work: technician must be on site
STALL = "stall"  # no progress since dispatch
SAME_DAY = "same_day"  # not finished the day it was dispatched: customer service
REQUEUE = "requeue"  # everyone was full: offer again at the next slot
HOLD_END = "hold_end"  # the expected date of a hold has passed
CONFIRM_REMIND = "confirm_remind"  # the resident hasn't confirmed the repair: a reminder
CONFIRM_TIMEOUT = "confirm_timeout"  # still no answer: a follow-up task for customer service
MATTER_ACCEPT = "matter_accept"  # a matter not accepted by its department in time: the manager
MATTER_ANSWER = "matter_answer"  # no first answer by the deadline: the resident told, the manager pinged
JOB_TIMERS = (CONTACT, ARRIVAL, STALL, SAME_DAY, HOLD_END)
MATTER_TIMERS = (MATTER_ACCEPT, MATTER_ANSWER)
END_OF_DAY = time(20, 0)
NEXT_SLOT = time(8, 30)


def start(
    session: AsyncSession, ticket_id: int | None, kind: str, due_at: datetime, *, now: datetime, **data: Any
) -> Timer:
    """Add a pending timer in the caller's transaction."""
    timer = Timer(ticket_id=ticket_id, kind=kind, due_at=due_at, status="pending", data=data, created_at=now)
    session.add(timer)
    return timer


async def cancel(session: AsyncSession, ticket_id: int, kinds: Iterable[str]) -> int:
    """Cancel a ticket's pending timers of these kinds; return how many."""
    result = await session.execute(
        update(Timer)
        .where(Timer.ticket_id == ticket_id, Timer.kind.in_(list(kinds)), Timer.status == "pending")
        .values(status="cancelled")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def pending(session: AsyncSession, ticket_id: int) -> Sequence[Timer]:
    """A ticket's pending timers, soonest first."""
    stmt = (
        select(Timer)
        .where(Timer.ticket_id == ticket_id, Timer.status == "pending")
        .order_by(Timer.due_at, Timer.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def claim_due(session: AsyncSession, now: datetime, limit: int = 100) -> Sequence[Timer]:
    """Take due timers for firing, soonest first: marked fired in this transaction by one statement, those
    another worker holds skipped (on SQLite the transaction's write lock keeps other workers out)."""
    due = (
        select(Timer.id)
        .where(Timer.status == "pending", Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Timer)
        .where(Timer.id.in_(due))
        .values(status="fired", fired_at=now)
        .returning(Timer)
        .execution_options(synchronize_session="fetch")
    )
    timers = (await session.execute(stmt)).scalars().all()
    return sorted(timers, key=lambda t: (t.due_at, t.id))


def end_of_local_day(now: datetime, tz: ZoneInfo) -> datetime:
    """Today's end-of-work time in the community (tomorrow's if already past)."""
    local = now.astimezone(tz)
    due = datetime.combine(local.date(), END_OF_DAY, tz)
    return due if due > local else due + timedelta(days=1)


def next_slot(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of the next working morning in the community."""
    local = now.astimezone(tz)
    due = datetime.combine(local.date(), NEXT_SLOT, tz)
    return due if due > local else datetime.combine(local.date() + timedelta(days=1), NEXT_SLOT, tz)
