"""Work a platform waits on goes first (storage/urgency.py): while the inbox stores an event, other work's
transactions wait to begin; work already inside a transaction goes on, and nothing waits for ever."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.inbox import Inbox
from dispatch.clock import FakeClock
from storage import urgency
from storage.db import Database


async def note(db: Database, order: list[str], name: str) -> None:
    """Other work: one transaction that notes when it ran."""
    async with db.transaction() as session:
        await session.execute(text("SELECT 1"))
        order.append(name)


async def test_other_work_begins_after_the_events_being_stored(db: Database, clock: FakeClock) -> None:
    order: list[str] = []
    inbox = Inbox(db, clock.now, "w1")

    async def processor(payload: dict[str, str]) -> bool:
        await note(db, order, "handled " + payload["text"])
        return True

    inbox.register("wechat", processor)
    with db.urgency.pending():  # a callback on its way in: its store has not committed yet
        other = asyncio.ensure_future(note(db, order, "other work"))
        await asyncio.sleep(0.02)
        assert order == []
        stored = asyncio.ensure_future(inbox.accept("wechat", "m1", "wechat:o1", {"text": "m1"}))
        assert await stored
        order.append("answered")
    await asyncio.gather(other, inbox.settle())
    assert order[0] == "answered" and sorted(order[1:]) == ["handled m1", "other work"]


async def test_work_inside_a_transaction_does_not_wait(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite: a second transaction of the same task waits for the first's write lock anyway")
    monkeypatch.setattr(urgency, "YIELD_AT_MOST", 30.0)
    order: list[str] = []
    async with db.transaction() as session:
        await session.execute(text("SELECT 1"))
        with db.urgency.pending():
            # It may hold what the store needs (a connection, SQLite's turn): waiting would hold up both.
            async with asyncio.timeout(10):
                await note(db, order, "nested")
    assert order == ["nested"]


async def test_a_steady_stream_of_stores_does_not_stop_other_work(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(urgency, "YIELD_AT_MOST", 0.05)
    order: list[str] = []
    with db.urgency.pending():  # never ends while the work runs
        async with asyncio.timeout(10):
            await note(db, order, "other work")
    assert order == ["other work"]
