"""What every step on a held job checks: the holder, the transition table, and the arrival code."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status, allowed, transition
from storage.models import Person, Ticket


class JobRefused(Exception):
    """A step that can't be taken now; `reason` says why (not_holder, status, ...)."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def new_code() -> str:
    """A 4-digit arrival code (上门验证码), never starting with 0 so it reads as a number."""
    return str(1000 + secrets.randbelow(9000))


def require_holder(ticket: Ticket, technician: Person) -> None:
    """Refuse a step by anyone but the technician who holds the job."""
    if ticket.technician_id != technician.id:
        raise JobRefused("not_holder")


async def move(
    session: AsyncSession, ticket: Ticket, to: Status, now: datetime, actor: int, kind: str, **data: object
) -> None:
    """Change the status through the transition table; a pair not in it is refused as a JobRefused."""
    if not allowed(ticket.status, to):
        raise JobRefused("status", status=ticket.status, wanted=str(to))
    await transition(session, ticket, to, now=now, actor_id=actor, kind=kind, **data)
