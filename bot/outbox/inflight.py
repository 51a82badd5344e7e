"""At most once for every new message: a send is marked in flight in a commit before the call.

Telegram (and WeChat) cannot be asked whether a message arrived. A worker killed between handing a message to
the channel and recording it leaves the row pending; sending it again would show it twice. So each new
message is marked in flight (`outbox.sending_at`) just before the call, and the worker that later finds the
mark on a pending row finishes it as `in_doubt` instead of sending a second copy. What can be lost is only a
message whose worker died between that commit and the request leaving, against a copy for every kill that
falls while a call is out. That gap is the commit's answer and the event loop's turn: a few milliseconds on
a busy machine, where kills every second or two, mostly while a new worker works off a backlog, lose a
message once in five to ten kills (the crash test). The person then hears nothing and asks again, as people
do; a graceful stop loses nothing.

The mark is committed as late as possible: a channel with a queue of its own (Telegram's calls in flight)
calls `ready` once the request is about to be written, so that a message waiting its turn is not in doubt.
The rows sent before it in the chat are recorded in the same commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.outbox import lanes
from bot.outbox.channel import DeliveryError
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

Sent = list[tuple[OutboxMessage, str | None]]
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")


def at_most_once(row: OutboxMessage) -> bool:
    """Something the chat would see twice: a new message (an offer's second copy would keep a live Accept
    button), or a tap's answer where the channel shows it as a message (WeChat; Telegram's ephemeral answers
    never come through a chat's lane). An edit repeated shows nothing new, so it is simply done again."""
    return row.kind != "edit"


def in_doubt(row: OutboxMessage) -> bool:
    """Handed to its channel by a worker that stopped before it heard back: it may have arrived."""
    return at_most_once(row) and row.sending_at is not None


async def mark(session: AsyncSession, rows: list[OutboxMessage], at: datetime) -> None:
    """Mark these rows in flight (only those still pending), in the caller's transaction."""
    if rows and session.get_bind().dialect.name == "postgresql":
        # The request waits for this commit, and a kill while it is flushed to disk loses the message: a
        # killed worker leaves a commit PostgreSQL holds in memory as good as a flushed one (only the
        # database's own crash in the next instant could drop the mark, and then the message shows twice).
        await session.execute(_NO_FLUSH_WAIT)
    for row in rows:
        await lanes.mark_sending(session, row.id, at)
        row.sending_at = at


async def mark_alone(db: Database, rows: list[OutboxMessage], at: datetime) -> None:
    """Mark these rows in flight (only those still pending) by one statement of their own: on PostgreSQL a
    single round trip, its commit not waiting for the disk (as `mark` does)."""
    if not rows:
        return

    async def run(connection: AsyncConnection, _again: bool) -> None:  # marking twice marks once
        if len(rows) == 1:  # the usual case, and a statement SQLAlchemy need not expand for its ids
            await connection.execute(lanes.mark_sending_one(), {"b_id": rows[0].id, "b_at": at})
        else:
            await connection.execute(
                lanes.mark_sending_all(), {"b_ids": [row.id for row in rows], "b_at": at}
            )

    await db.run_alone(run, flushed=False)
    for row in rows:
        row.sending_at = at


async def unmark(session: AsyncSession, rows: list[OutboxMessage]) -> None:
    """The call was never made after all: the rows may be sent again without fear of a copy."""
    for row in rows:
        await lanes.mark_sending(session, row.id, None)
        row.sending_at = None


async def finish_call(call: asyncio.Future[str | None]) -> tuple[str | None, DeliveryError | None]:
    """Wait for a call already handed to the channel (the worker is stopping): its answer, or how it failed.

    Cutting it off would leave its row in doubt for good, though the answer is a moment away."""
    try:
        return await call, None
    except DeliveryError as exc:
        return None, exc
    except Exception as exc:  # a crash in the adapter is a failed call like any other
        return None, DeliveryError(type(exc).__name__)


async def after(
    ready: Callable[[], Awaitable[None]], call: Callable[[], Awaitable[str | None]]
) -> str | None:
    """`ready` (the mark's commit), then the call: for channels that do not call it themselves."""
    await ready()
    return await call()
