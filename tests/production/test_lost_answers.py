"""A statement's answer lost after the server committed it (the connection died in between): the retry on a
new connection (Database.run_alone) copes with the first try's rows: nothing lost, sent twice or delayed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.inbox import Inbox
from bot.outbox.sender import OutboxSender
from dispatch.clock import FakeClock
from handlers.messages import Outbound
from handlers.outbox import write_outbox
from storage.db import Database
from storage.models import InboxEvent, OutboxLane, OutboxMessage
from tests.support.harness import RecordingDelivery

CH = "test"


class _Dying:
    """A connection whose execute commits the statement and then fails as a dead connection would."""

    def __init__(self, connection: AsyncConnection, lose: Callable[[str], bool]) -> None:
        self._connection = connection
        self._lose = lose

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self._connection.execute(statement, *args, **kwargs)
        if not self._lose(str(statement)):
            return result
        if result.returns_rows:
            result.all()  # the server had answered; the answer never reached us
        raise DBAPIError(
            str(statement), {}, ConnectionResetError("connection lost"), connection_invalidated=True
        )


def lose_first_answer(db: Database, matching: str) -> list[str]:
    """Make the first statement alone containing `matching` commit and then lose its answer; returns a list
    that notes each statement whose answer was lost."""
    real = db.one_statement
    lost: list[str] = []

    def lose(sql: str) -> bool:
        if lost or matching not in sql:
            return False
        lost.append(sql)
        return True

    @asynccontextmanager
    async def one_statement(**kwargs: Any) -> AsyncIterator[Any]:
        async with real(**kwargs) as connection:
            yield _Dying(connection, lose)

    db.one_statement = one_statement  # type: ignore[method-assign]
    return lost


async def test_an_event_whose_insert_answer_was_lost_is_still_handled_at_once(
    db: Database, clock: FakeClock
) -> None:
    lost = lose_first_answer(db, "INSERT INTO inbox ")
    inbox, handled = Inbox(db, clock.now, "w1"), []

    async def recorder(payload: dict[str, Any]) -> bool:
        handled.append(payload["text"])
        return True

    inbox.register("wechat", recorder)
    # The platform is told the event is ours, and it is handled now, not after the lease by a sweep.
    assert await inbox.accept("wechat", "m1", "wechat:o1", {"text": "停电了"})
    await inbox.settle()
    assert lost and handled == ["停电了"]
    async with db.transaction() as s:
        assert (await s.execute(select(InboxEvent))).scalars().all() == []
    # The platform's own retry, after the event was handled and its row deleted, is accepted like any
    # event: the router's event log, not the inbox, drops it.
    assert await inbox.accept("wechat", "m1", "wechat:o1", {"text": "停电了"})
    await inbox.settle()
    assert handled == ["停电了", "停电了"]
    await inbox.close()


@pytest.mark.parametrize("more", [False, True], ids=["the chat's last", "the chat has more"])
async def test_a_sent_message_whose_record_answer_was_lost_is_not_called_sent_twice(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture, more: bool
) -> None:
    if db.is_sqlite:
        pytest.skip("on SQLite the record and the release are a transaction, not a statement alone")
    replies = [Outbound(CH, "5", "您的报修 BX-7 已受理", ref="r:7")]
    if more:
        replies.append(Outbound(CH, "5", "张师傅已接单", ref="r:8"))
    async with db.transaction() as session:
        await write_outbox(session, replies, clock.now())
    lost = lose_first_answer(db, "WITH done AS")
    delivery = RecordingDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock)
    with caplog.at_level(logging.WARNING):
        while await sender.run_once():
            pass
    assert lost
    assert [m.text for m in delivery.chat("5")] == [reply.text for reply in replies]
    assert "sent twice" not in caplog.text
    async with db.transaction() as s:
        statuses = (await s.execute(select(OutboxMessage.status).order_by(OutboxMessage.id))).scalars().all()
        owner = (await s.execute(select(OutboxLane.lease_owner))).scalar_one()
    assert list(statuses) == ["sent"] * len(replies) and owner == ""
