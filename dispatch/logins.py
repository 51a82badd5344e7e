"""One-time login links to the dashboard: a random token per link, usable once, for a few minutes.

The token is an ActionToken row (kind "dashboard", the person as target), so a link works on any worker,
and redeeming it is one locked read-and-mark in the transaction: used twice, the second is refused.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.figures import may_view
from storage.models import ActionToken, Person

KIND = "dashboard"
LIFETIME = timedelta(minutes=10)


class LoginRefused(Exception):
    """A link that can't log anyone in; `reason` is unknown, used, expired or not_allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def issue(session: AsyncSession, person: Person, now: datetime) -> str:
    """A fresh one-time token for this supervisor or manager."""
    if not may_view(person):
        raise LoginRefused("not_allowed")
    token = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    session.add(ActionToken(token=token, kind=KIND, target_id=person.id, created_at=now, data={}))
    return token


async def redeem(session: AsyncSession, token: str, now: datetime, lifetime: timedelta = LIFETIME) -> Person:
    """The person a token logs in, marking it used; LoginRefused when unknown, used, expired or the person
    may no longer see figures."""
    row = await session.get(ActionToken, token[:24], with_for_update=True) if token else None
    if row is None or row.kind != KIND or row.target_id is None:
        raise LoginRefused("unknown")
    if row.used_at is not None:
        raise LoginRefused("used")
    if now - row.created_at > lifetime:
        raise LoginRefused("expired")
    row.used_at = now
    person = await session.get(Person, row.target_id)
    if person is None or not may_view(person):
        raise LoginRefused("not_allowed")
    return person
