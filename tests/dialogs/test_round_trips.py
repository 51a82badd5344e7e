"""What one dialog step costs the database: on PostgreSQL, BEGIN, three statements and COMMIT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine.default import CACHING_DISABLED, NO_CACHE_KEY

from handlers.messages import Kind
from storage.db import Database
from storage.models import Conversation
from tests.support.dialogs import U, file_ticket
from tests.support.harness import Harness, add_staff

# Sent as they are, never compiled: nothing to cache.
_BY_DRIVER = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def round_trips(db: Database) -> Iterator[list[str]]:
    """The statements sent while inside, BEGIN and COMMIT included; each one from SQLAlchemy's cache."""
    sent: list[str] = []
    uncached: list[str] = []
    engines = [engine.sync_engine for engine in db.engines]

    def statement(_conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        sent.append(" ".join(sql.split()[:3]))
        compiled = context is not None and context.compiled is not None and not sql.startswith(_BY_DRIVER)
        if compiled and context.cache_hit in (NO_CACHE_KEY, CACHING_DISABLED):
            uncached.append(sql)

    def begin(*_: Any) -> None:
        sent.append("BEGIN")

    def commit(*_: Any) -> None:
        sent.append("COMMIT")

    hooks = [
        (engine, name, hook)
        for engine in engines
        for name, hook in [("before_cursor_execute", statement), ("begin", begin), ("commit", commit)]
    ]
    for engine, name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield sent
    finally:
        for engine, name, hook in hooks:
            event.remove(engine, name, hook)
    # A statement SQLAlchemy cannot cache is compiled anew every time: more CPU than a round trip saved.
    assert uncached == []


async def conversation(h: Harness) -> Conversation:
    async with h.db.transaction() as s:
        return (await s.execute(select(Conversation).where(Conversation.chat_id == U))).scalar_one()


async def test_a_dialog_step_is_five_round_trips_on_postgresql(harness: Harness) -> None:
    """The event (with its flood rule), the conversation locked with its sender's person, the replies with the
    conversation's new state: three statements between BEGIN and COMMIT. Each round trip counts where the
    database is across a network, and each costs the bot CPU."""
    h = harness
    await h.say(U, "报修")
    await h.tap(U, "My home")
    await h.tap(U, "Building 1")
    await h.tap(U, "Unit 1")
    before = await conversation(h)
    with round_trips(h.db) as sent:
        await h.router.handle(h.inbound(U, Kind.TEXT, text="1203"))
    await h.flush()
    after = await conversation(h)
    # The step is saved (the room taken, the next question asked) and the reply went out.
    assert after.dialog == before.dialog == "intake" and after.step != before.step
    assert after.data["draft"]["room"] == "1203"
    assert "phone" in h.last(U).text.lower() or "电话" in h.last(U).text
    if not h.db.is_sqlite:
        assert sent == ["BEGIN", "INSERT INTO inbound_events", "WITH locked AS", "WITH saved AS", "COMMIT"]


async def test_a_step_that_tells_several_chats_saves_its_state_with_them(harness: Harness) -> None:
    """Filing a repair tells the resident and offers the job to the technicians: the replies of several
    chats, written with the resident's conversation, every statement from SQLAlchemy's cache."""
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await file_ticket(h, "first", photos=0)
    with round_trips(h.db):
        await file_ticket(h, U, photos=0)
    assert (await conversation(h)).dialog == ""
    assert [m.text for m in h.delivery.chat("Zhang") if "BX-20261123-0002" in m.text]
    assert [m.text for m in h.delivery.chat("Li") if "BX-20261123-0002" in m.text]
