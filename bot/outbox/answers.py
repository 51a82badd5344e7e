"""Button-tap answers, sent as soon as the tap is handled rather than in the chat's queue.

A tap's answer (Telegram's answerCallbackQuery) stops the spinner on the button and may show a short toast.
It is not a message in the chat, so it need not wait behind the chat's earlier messages or the rate limits
(it doesn't count against them), and Telegram refuses it after about 15 seconds anyway. On channels whose
delivery sets `ephemeral_answers`, such rows skip the chat lanes: they are claimed (marked sent) in one
transaction and answered concurrently. A worker that dies in between loses only a toast. On other channels
(WeChat, where an answer is a chat message) answers stay in the chat's queue, in order.

Where the process that handled the tap can answer it (Telegram's channel registers `AnswerNow` with the
router), the handler's transaction writes the row already sent and the answer leaves straight after the
commit: no wake-up, no claiming transaction (on SQLite, a turn at the writer's lock among a storm's taps).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select, true, update

from dispatch.clock import Clock
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
BATCH = 200
CLOSE_WAIT = 5.0  # seconds a clean stop waits for answers on their way


def fast_channels(channels: Mapping[str, object]) -> frozenset[str]:
    """The channels whose tap answers are ephemeral."""
    return frozenset(
        name for name, delivery in channels.items() if getattr(delivery, "ephemeral_answers", False)
    )


def queued(model: Any, fast: frozenset[str]) -> ColumnElement[bool]:
    """SQL: the rows that go through their chat's lane (all but the fast channels' answers)."""
    if not fast:
        return true()
    return or_(model.kind != "answer", model.channel.not_in(sorted(fast)))


class AnswerNow:
    """Answers a channel's taps as soon as the router committed them (their rows are written already sent)."""

    def __init__(self, delivery: Any) -> None:
        self.delivery = delivery
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, message: Outbound) -> None:
        """Start answering the tap; the router goes on at once."""
        task = asyncio.get_running_loop().create_task(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: Outbound) -> None:
        await answer_tap(self.delivery, message, f"to chat {message.chat_id}")

    async def close(self) -> None:
        """Let the answers on their way finish (at a clean stop), then give up on the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT)
        for task in set(self._tasks):
            task.cancel()


async def send_answers(db: Database, channels: Mapping[str, Any], fast: frozenset[str], clock: Clock) -> int:
    """Claim the pending tap answers of the fast channels and send them at once; returns how many."""
    rows = await claim_answers(db, fast, clock)
    if rows:
        await deliver_answers(db, channels, rows)
    return len(rows)


async def answer_forever(
    db: Database,
    channels: Mapping[str, Any],
    fast: frozenset[str],
    clock: Clock,
    wait: Callable[[], Awaitable[None]],
) -> None:
    """Answer taps as soon as handlers commit them, then `wait` (until woken or a while passes); forever.

    A claimed batch is answered in the background, so taps committed meanwhile are claimed at once instead of
    waiting for the slowest answer of the batch before."""
    sending: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                while rows := await claim_answers(db, fast, clock):
                    task = asyncio.create_task(deliver_answers(db, channels, rows))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
            except Exception:
                log.exception("answering taps failed")
            await wait()
    finally:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)


async def claim_answers(db: Database, fast: frozenset[str], clock: Clock) -> list[OutboxMessage]:
    """Mark up to BATCH pending tap answers of the fast channels sent and return them (one statement)."""
    if not fast:
        return []
    async with db.transaction() as session:
        params = {"channels": sorted(fast), "now": clock.now(), "limit": BATCH}
        return list((await session.execute(_claim(), params)).scalars().all())


async def deliver_answers(db: Database, channels: Mapping[str, Any], rows: list[OutboxMessage]) -> None:
    """Answer claimed taps concurrently; a refused answer is recorded as failed on its row."""
    errors = await asyncio.gather(*(_answer(channels[row.channel], row) for row in rows))
    failed = {row.id: error for row, error in zip(rows, errors, strict=True) if error}
    if failed:
        async with db.transaction() as session:
            for row_id, error in failed.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(status="failed", error=error)
                )


@cache
def _claim() -> Any:
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == "answer",
            OutboxMessage.channel.in_(bindparam("channels", expanding=True)),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due))
        .values(status="sent", sent_at=bindparam("now"), attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )


async def _answer(delivery: Any, row: OutboxMessage) -> str:
    message = Outbound.from_row(row.channel, row.chat_id, row.payload, row.ref, row.edit_ref)
    return await answer_tap(delivery, message, str(row.id))


async def answer_tap(delivery: Any, message: Outbound, what: str) -> str:
    """Answer one tap; the error text when the channel refused (never raised: the others go on)."""
    from bot.ops import metrics

    try:
        await delivery.deliver(message, None)
    except Exception as exc:  # a refused answer only costs the toast
        log.info("tap answer %s not delivered: %s", what, exc)
        return (str(exc) or type(exc).__name__)[:300]
    metrics.SENT.labels(message.channel, "answer").inc()
    return ""
