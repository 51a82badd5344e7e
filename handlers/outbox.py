"""Outbound messages into the outbox table in the caller's transaction; bot/outbox/ sends them later."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Outbound
from storage.conversations import save_with
from storage.models import Conversation, OutboxMessage


async def write_outbox(
    session: AsyncSession,
    messages: list[Outbound],
    now: datetime,
    *,
    answered_here: Collection[str] = (),
    conversation: Conversation | None = None,
) -> None:
    """Add outbound messages to the outbox in the current transaction (one INSERT). Tap answers of the
    `answered_here` channels are written already sent: the caller answers them itself once committed.
    A `conversation` changed in this transaction is saved by the same statement where the database allows
    (else at the commit, as always)."""
    if not messages:
        return
    rows = []
    for message in messages:
        here = message.kind == "answer" and message.channel in answered_here
        rows.append(
            {
                "channel": message.channel,
                "chat_id": message.chat_id,
                "kind": message.kind,
                "payload": message.to_payload(),
                "ref": message.ref,
                "edit_ref": message.edit_ref,
                "important": message.important,
                "status": "sent" if here else "pending",
                "attempts": 1 if here else 0,
                "sent_at": now if here else None,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if conversation is not None and await save_with(session, conversation, _OUTBOX_TABLE, rows):
        return
    # The table, not the mapped class: nothing reads these rows back in this transaction, and the ORM's unit
    # of work (identity map, RETURNING the ids) cost more than the INSERT itself on every event.
    await session.execute(_OUTBOX_INSERT, rows)


_OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)
_OUTBOX_INSERT = insert(_OUTBOX_TABLE)
