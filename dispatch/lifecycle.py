"""The ticket life cycle: one explicit transition table; any pair not in it is refused.

Every status change goes through `transition` (or `transition_if_unchanged` for a race such as the grab),
both checked against the table of the ticket's kind: `TRANSITIONS` for repairs, `MATTER_TRANSITIONS` for
matters (报事). The diagrams are generated from the tables (`python -m dispatch.lifecycle [matter]`) and
kept in the README, where a test holds them to the tables.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, update
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
    # Part of an incident: another ticket carries the work; this one waits to be asked "fixed?".
    LINKED = "linked"


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
        (S.COMPLETED, S.CLOSED),
        (S.CONFIRMED, S.FOLLOWED_UP),
        (S.CONFIRMED, S.CLOSED),
        (S.FOLLOWED_UP, S.CLOSED),
        (S.FOLLOWED_UP, S.REWORK),
        (S.CLOSED, S.REWORK),
        (S.REWORK, S.SCHEDULED),
        (S.REWORK, S.EN_ROUTE),
        (S.REWORK, S.ON_SITE),
        (S.REWORK, S.OFFERED),
        (S.SUBMITTED, S.LINKED),
        (S.OFFERED, S.LINKED),
        (S.LINKED, S.COMPLETED),
    }
    | {(s, S.CANCELLED) for s in (*_BEFORE_SITE, S.LINKED)}
)

# Matters (报事) run their own, shorter loop with the same statuses: routed to a department (submitted),
# accepted or handed to someone (assigned), answered (in_progress), handled (completed), then confirmed and
# rated by the resident, or followed up, as repairs are.
MATTER_TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (S.SUBMITTED, S.ASSIGNED),
        (S.ASSIGNED, S.IN_PROGRESS),
        (S.ASSIGNED, S.SUBMITTED),
        (S.IN_PROGRESS, S.SUBMITTED),
        (S.ASSIGNED, S.COMPLETED),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.COMPLETED, S.CONFIRMED),
        (S.COMPLETED, S.IN_PROGRESS),
        (S.COMPLETED, S.FOLLOWED_UP),
        (S.CONFIRMED, S.FOLLOWED_UP),
        (S.CONFIRMED, S.CLOSED),
        (S.FOLLOWED_UP, S.CLOSED),
        (S.FOLLOWED_UP, S.IN_PROGRESS),
    }
    | {(s, S.CANCELLED) for s in (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS)}
    | {(s, S.REJECTED) for s in (S.SUBMITTED, S.ASSIGNED, S.IN_PROGRESS)}
)
TABLES: dict[str, frozenset[tuple[Status, Status]]] = {"repair": TRANSITIONS, "matter": MATTER_TRANSITIONS}

OPEN = frozenset(set(Status) - {S.CLOSED, S.CANCELLED, S.REJECTED})
HELD = frozenset({S.ASSIGNED, S.SCHEDULED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD, S.IN_PROGRESS, S.REWORK})


# What a few of the table's pairs mean, for the diagram.
WHY: dict[tuple[Status, Status], str] = {
    (S.OFFERED, S.SUBMITTED): "nobody can take it (queued)",
    (S.ASSIGNED, S.OFFERED): "handed back",
    (S.SCHEDULED, S.OFFERED): "handed back",
    (S.EN_ROUTE, S.OFFERED): "handed back",
    (S.ON_HOLD, S.OFFERED): "handed back",
    (S.REWORK, S.OFFERED): "handed back",
    (S.EN_ROUTE, S.SCHEDULED): "appointment moved",
    (S.COMPLETED, S.REWORK): "not fixed",
    (S.COMPLETED, S.CLOSED): "no resident to confirm (planned work)",
    (S.FOLLOWED_UP, S.REWORK): "reopened",
    (S.CLOSED, S.REWORK): "reopened",
    (S.SUBMITTED, S.LINKED): "joins an incident",
    (S.OFFERED, S.LINKED): "joins an incident",
    (S.LINKED, S.COMPLETED): "the incident is fixed",
}
MATTER_WHY: dict[tuple[Status, Status], str] = {
    (S.SUBMITTED, S.ASSIGNED): "accepted or handed to staff",
    (S.ASSIGNED, S.IN_PROGRESS): "first answer",
    (S.ASSIGNED, S.SUBMITTED): "forwarded",
    (S.IN_PROGRESS, S.SUBMITTED): "forwarded",
    (S.COMPLETED, S.IN_PROGRESS): "not handled",
    (S.FOLLOWED_UP, S.IN_PROGRESS): "needs more work",
}


def mermaid(kind: str = "repair") -> str:
    """A kind's transition table as a Mermaid state diagram, in the order of the statuses."""
    order = list(Status)
    table, reasons = TABLES[kind], WHY if kind == "repair" else MATTER_WHY
    lines = ["stateDiagram-v2", f"    [*] --> {S.SUBMITTED}"]
    for before, after in sorted(table, key=lambda pair: (order.index(pair[0]), order.index(pair[1]))):
        why = reasons.get((before, after))
        lines.append(f"    {before} --> {after}" + (f": {why}" if why else ""))
    lines.extend(f"    {end} --> [*]" for end in (S.CLOSED, S.CANCELLED, S.REJECTED))
    return "\n".join(lines) + "\n"


class TransitionRefused(Exception):
    """A status change that the table does not allow."""

    def __init__(self, ticket: str, current: str, wanted: str) -> None:
        super().__init__(f"ticket {ticket}: {current} -> {wanted} is not allowed")
        self.ticket = ticket
        self.current = current
        self.wanted = wanted


def allowed(current: str, wanted: str, kind: str | None = "repair") -> bool:
    """True when the table of the ticket's kind (repairs when not given) has the pair."""
    try:
        return (Status(current), Status(wanted)) in TABLES[kind or "repair"]
    except (ValueError, KeyError):
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
    if not allowed(ticket.status, to, ticket.kind):
        raise TransitionRefused(ticket.number, ticket.status, to)
    return _record(session, ticket, ticket.status, to, now=now, actor_id=actor_id, kind=kind, data=data)


async def transition_if_unchanged(
    session: AsyncSession,
    ticket: Ticket,
    to: Status,
    *,
    expected: Collection[Status],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
    now: datetime,
    actor_id: int | None,
    kind: str | None = None,
    **data: Any,
) -> TicketEvent | None:
    """Move a ticket by one conditional UPDATE that only matches while its row is still in an `expected`
    status (and `where` holds); None when another transaction changed it first. For races such as the grab,
    where many may try and exactly one may win; the pairs are checked against the same table."""
    for status in expected:
        if not allowed(status, to, ticket.kind):
            raise TransitionRefused(ticket.number, status, to)
    before = ticket.status
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_([str(s) for s in expected]), *where)
        .values(status=str(to), updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.refresh(ticket)
    return _record(session, ticket, before, to, now=now, actor_id=actor_id, kind=kind, data=data)


def _record(
    session: AsyncSession,
    ticket: Ticket,
    before: str,
    to: Status,
    *,
    now: datetime,
    actor_id: int | None,
    kind: str | None,
    data: dict[str, Any],
) -> TicketEvent:
    """The event and the time stamp every status change leaves, however it was made."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor_id=actor_id,
        kind=kind or str(to),
        from_status=before,
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


if __name__ == "__main__":
    import sys

    print(mermaid(sys.argv[1] if len(sys.argv) > 1 else "repair"), end="")
