"""Outbound messages into the outbox table in the caller's transaction; bot/outbox/ sends them later."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Outbound
from storage.models import OutboxMessage


async def write_outbox(session: AsyncSession, messages: list[Outbound], now: datetime) -> None:
    """Add outbound messages to the outbox in the current transaction (one INSERT)."""
    if not messages:
        return
    rows = [
        {
            "channel": message.channel,
            "chat_id": message.chat_id,
            "kind": message.kind,
            "payload": message.to_payload(),
            "ref": message.ref,
            "edit_ref": message.edit_ref,
            "important": message.important,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for message in messages
    ]
    # The table, not the mapped class: nothing reads these rows back in this transaction, and the ORM's unit
    # of work (identity map, RETURNING the ids) cost more than the INSERT itself on every event.
    await session.execute(_OUTBOX_INSERT, rows)


_OUTBOX_INSERT = insert(cast(Table, OutboxMessage.__table__))
