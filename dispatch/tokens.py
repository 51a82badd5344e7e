"""Opaque button ids for ticket actions, one per (kind, ticket, person), re-authorised on every tap."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActionToken


async def token_for(
    session: AsyncSession, kind: str, ticket_id: int, person_id: int | None, now: datetime
) -> str:
    """The token for this person's `kind` buttons on this ticket (None: anyone's, e.g. a group's copy),
    created on first use."""
    target = ActionToken.target_id.is_(None) if person_id is None else ActionToken.target_id == person_id
    stmt = select(ActionToken.token).where(
        ActionToken.kind == kind, ActionToken.ticket_id == ticket_id, target
    )
    token = (await session.execute(stmt)).scalars().first()
    if token is None:
        token = secrets.token_urlsafe(9)
        session.add(
            ActionToken(token=token, kind=kind, ticket_id=ticket_id, target_id=person_id, created_at=now)
        )
        await session.flush()
    return token


async def lookup(session: AsyncSession, token: str, kind: str) -> ActionToken | None:
    """A token of the expected kind, or None (unknown, forged, or another kind)."""
    row = await session.get(ActionToken, token) if token else None
    return row if row is not None and row.kind == kind else None
