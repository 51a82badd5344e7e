"""The ticket life cycle: one explicit transition table; any pair not in it is refused.

```mermaid
stateDiagram-v2
    [*] --> submitted
    submitted --> offered
    submitted --> assigned
    offered --> assigned
    offered --> submitted: nobody can take it (queued)
    assigned --> scheduled
    assigned --> en_route
    assigned --> on_site
    scheduled --> en_route
    scheduled --> on_site
    en_route --> on_site
    on_site --> in_progress
    on_site --> on_hold
    on_site --> completed
    in_progress --> on_hold
    in_progress --> completed
    on_hold --> in_progress
    completed --> confirmed
    completed --> rework
    completed --> followed_up
    confirmed --> followed_up
    confirmed --> closed
    followed_up --> closed
    closed --> rework
    rework --> assigned
    rework --> scheduled
    rework --> en_route
    rework --> on_site
    assigned --> offered: handed back / reassigned
    submitted --> cancelled
    submitted --> rejected
```
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket, TicketEvent


class Status(StrEnum):
    """Where a ticket stands."""

    SUBMITTED = "submitted"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    ON_HOLD = "on_hold"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    REWORK = "rework"


S = Status
_BEFORE_SITE = (S.SUBMITTED, S.OFFERED, S.ASSIGNED, S.SCHEDULED, S.EN_ROUTE)

TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (S.SUBMITTED, S.OFFERED),
        (S.SUBMITTED, S.ASSIGNED),
        (S.SUBMITTED, S.REJECTED),
        (S.OFFERED, S.ASSIGNED),
        (S.OFFERED, S.SUBMITTED),
        (S.OFFERED, S.REJECTED),
        (S.ASSIGNED, S.SCHEDULED),
        (S.ASSIGNED, S.EN_ROUTE),
        (S.ASSIGNED, S.ON_SITE),
        (S.ASSIGNED, S.OFFERED),
        (S.SCHEDULED, S.EN_ROUTE),
        (S.SCHEDULED, S.ON_SITE),
        (S.SCHEDULED, S.OFFERED),
        (S.EN_ROUTE, S.ON_SITE),
        (S.EN_ROUTE, S.SCHEDULED),
        (S.EN_ROUTE, S.OFFERED),
        (S.ON_SITE, S.IN_PROGRESS),
        (S.ON_SITE, S.ON_HOLD),
        (S.ON_SITE, S.COMPLETED),
        (S.IN_PROGRESS, S.ON_HOLD),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.ON_HOLD, S.IN_PROGRESS),
        (S.ON_HOLD, S.OFFERED),
        (S.COMPLETED, S.CONFIRMED),
        (S.COMPLETED, S.REWORK),
        (S.COMPLETED, S.FOLLOWED_UP),
        (S.CONFIRMED, S.FOLLOWED_UP),
        (S.CONFIRMED, S.CLOSED),
        (S.FOLLOWED_UP, S.CLOSED),
        (S.FOLLOWED_UP, S.REWORK),
        (S.CLOSED, S.REWORK),
        (S.REWORK, S.SCHEDULED),
        (S.REWORK, S.EN_ROUTE),
        (S.REWORK, S.ON_SITE),
        (S.REWORK, S.OFFERED),
    }
    | {(s, S.CANCELLED) for s in _BEFORE_SITE}
)

OPEN = frozenset(set(Status) - {S.CLOSED, S.CANCELLED, S.REJECTED})
HELD = frozenset({S.ASSIGNED, S.SCHEDULED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD, S.IN_PROGRESS, S.REWORK})


class TransitionRefused(Exception):
    """A status change that the table does not allow."""

    def __init__(self, ticket: str, current: str, wanted: str) -> None:
        super().__init__(f"ticket {ticket}: {current} -> {wanted} is not allowed")
        self.ticket = ticket
        self.current = current
        self.wanted = wanted


def allowed(current: str, wanted: str) -> bool:
    """True when the table has the pair."""
    try:
        return (Status(current), Status(wanted)) in TRANSITIONS
    except ValueError:
        return False


async def transition(
    session: AsyncSession,
    ticket: Ticket,
    to: Status,
    *,
    now: datetime,
    actor_id: int | None,
    kind: str | None = None,
    **data: Any,
) -> TicketEvent:
    """Move a ticket to a new status and log it; refuse pairs that are not in the table."""
    if not allowed(ticket.status, to):
        raise TransitionRefused(ticket.number, ticket.status, to)
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor_id=actor_id,
        kind=kind or str(to),
        from_status=ticket.status,
        to_status=str(to),
        data=data,
    )
    ticket.status = str(to)
    ticket.updated_at = now
    ticket.stamps = {**(ticket.stamps or {}), str(to): now.isoformat()}
    session.add(event)
    return event


def log(
    session: AsyncSession, ticket: Ticket, kind: str, *, now: datetime, actor_id: int | None, **data: Any
) -> TicketEvent:
    """Record something that happened to a ticket without changing its status."""
    event = TicketEvent(
        ticket_id=ticket.id, at=now, actor_id=actor_id, kind=kind, from_status=None, to_status=None, data=data
    )
    session.add(event)
    return event
