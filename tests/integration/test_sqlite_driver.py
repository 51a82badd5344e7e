"""SQLite's driver (storage/sqlite_driver.py): statements run in the event loop's thread, and in the
connection's own thread only to wait for another process's lock or to finish a long read; the same results,
counts and errors as aiosqlite's own cursors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import sqlite_driver
from storage.db import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.transaction() as s:
        await s.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, chat TEXT UNIQUE, body TEXT)"))
    yield db
    await db.dispose()


@pytest.fixture
def thread_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls that went to a connection's thread, by name."""
    trips: list[str] = []
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(args[0], "__name__", repr(args[0])) if args else fn.__name__)
        return await execute(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


class Ticker:
    """Counts the event loop's turns every 10 ms while a block runs: none when the loop was held."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_a_transaction_runs_in_the_loop_without_a_trip_to_the_thread(
    sqlite_db: Database, thread_trips: list[str]
) -> None:
    async with sqlite_db.transaction() as s:
        await s.execute(text("INSERT INTO notes (chat, body) VALUES ('1', 'a')"))
        assert (await s.execute(text("SELECT body FROM notes"))).scalar_one() == "a"
        await s.execute(text("UPDATE notes SET body = 'b'"))
    # BEGIN IMMEDIATE, three statements, COMMIT: aiosqlite took 15 trips, the first version of this driver 5.
    assert thread_trips == []


async def test_a_lock_another_process_holds_is_waited_for_in_the_thread(
    sqlite_db: Database, tmp_path: Path, thread_trips: list[str]
) -> None:
    """The loop goes on while the transaction waits for the lock, and the transaction then runs."""
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (chat, body) VALUES ('1', 'other')")
    # Released from another thread: a loop held by SQLite's busy handler could not release it.
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        async with Ticker() as ticker, sqlite_db.transaction() as s:
            body = (await s.execute(text("SELECT body FROM notes WHERE chat = '1'"))).scalar_one()
            await s.execute(text("INSERT INTO notes (chat, body) VALUES ('2', 'ours')"))
    finally:
        release.join()
        other.close()
    assert body == "other"  # it began after the other's commit
    assert ticker.ticks >= 10, ticker.ticks  # the loop turned while it waited
    assert len(thread_trips) == 1  # BEGIN IMMEDIATE waited in the thread; the rest ran in the loop


async def test_a_long_read_in_a_transaction_finishes_in_the_thread(
    sqlite_db: Database, thread_trips: list[str]
) -> None:
    """Cut short after INLINE_READ in the loop, run again whole in the thread; the transaction goes on."""
    count = text(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000) "
        "SELECT count(*) FROM n"
    )
    async with Ticker() as ticker, sqlite_db.transaction() as s:
        await s.execute(text("INSERT INTO notes (chat, body) VALUES ('1', 'a')"))
        assert (await s.execute(count)).scalar_one() == 3_000_000
        await s.execute(text("UPDATE notes SET body = 'b'"))
    assert ticker.ticks >= 5, ticker.ticks  # the loop turned while the thread counted
    assert len(thread_trips) == 1
    async with sqlite_db.transaction() as s:  # nothing of the transaction was lost by the cut
        assert (await s.execute(text("SELECT body FROM notes"))).scalar_one() == "b"


async def test_a_read_outside_a_transaction_runs_in_the_thread(
    sqlite_db: Database, thread_trips: list[str]
) -> None:
    """A read that takes no lock (a report) may be long: it runs beside the loop, as before."""
    async with sqlite_db.one_statement() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0
    assert len(thread_trips) == 1


async def test_results_counts_and_errors_are_the_drivers(sqlite_db: Database) -> None:
    insert = text("INSERT INTO notes (chat, body) VALUES (:c, :b) ON CONFLICT DO NOTHING RETURNING id, chat")
    async with sqlite_db.transaction() as s:
        assert [tuple(r) for r in await s.execute(insert, {"c": "1", "b": "x"})] == [(1, "1")]
        assert (await s.execute(insert, {"c": "1", "b": "y"})).all() == []  # a repeat: nothing returned
        await s.execute(
            text("INSERT INTO notes (chat, body) VALUES (:c, :b)"),
            [{"c": str(i), "b": "z"} for i in range(2, 6)],
        )
        updated = await s.execute(text("UPDATE notes SET body = 'w' WHERE chat > '2'"))
        assert updated.rowcount == 3  # type: ignore[attr-defined]
        rows = (await s.execute(text("SELECT chat, body FROM notes ORDER BY chat"))).all()
        assert [tuple(r) for r in rows] == [("1", "x"), ("2", "z"), ("3", "w"), ("4", "w"), ("5", "w")]
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as s:
            await s.execute(text("INSERT INTO notes (chat, body) VALUES ('9', 'a')"))
            await s.execute(text("INSERT INTO notes (chat, body) VALUES ('1', 'again')"))
    async with sqlite_db.transaction() as s:  # the failed transaction left nothing, the connection works
        assert (await s.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 5


async def test_a_statement_that_stands_alone_is_one_call_and_all_or_nothing(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, thread_trips: list[str]
) -> None:
    """`Database.one_statement` on SQLite: no BEGIN IMMEDIATE and COMMIT, and still atomic: a batch whose
    last row fails stores none of its rows."""
    calls: list[str] = []
    counted = sqlite_driver.Connection._counted

    def counting(self: sqlite_driver.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[1] if len(args) > 1 else fn.__name__)
        return counted(self, fn, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.Connection, "_counted", counting)
    many = text("INSERT INTO notes (chat, body) VALUES ('1', 'a'), ('2', 'b')")
    async with sqlite_db.one_statement() as connection:
        await connection.execute(many)
    assert calls == [many.text] and thread_trips == []
    with pytest.raises(IntegrityError):
        async with sqlite_db.one_statement() as connection:
            await connection.execute(text("INSERT INTO notes (chat, body) VALUES ('3', 'c'), ('1', 'again')"))
    async with sqlite_db.transaction() as s:  # committed at once; the failed batch left nothing
        rows = (await s.execute(text("SELECT chat, body FROM notes ORDER BY chat"))).all()
    assert [tuple(r) for r in rows] == [("1", "a"), ("2", "b")]


async def test_a_cancelled_wait_for_a_lock_leaves_the_connection_to_the_thread(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A task cancelled while its BEGIN IMMEDIATE waits in the thread: SQLAlchemy then rolls back and closes
    the connection, which must queue behind the wait (run beside it, on the loop, it crashed the process)."""
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    release.start()

    async def write() -> None:
        async with sqlite_db.transaction() as s:
            await s.execute(text("INSERT INTO notes (chat, body) VALUES ('1', 'cancelled')"))

    try:
        async with Ticker() as ticker:
            task = asyncio.create_task(write())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)
    finally:
        release.join()
        other.close()
    assert ticker.ticks >= 10, ticker.ticks  # the loop was not held by the close
    async with sqlite_db.transaction() as s:  # the database works, and the cancelled write left nothing
        assert (await s.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0


async def test_commits_leave_the_checkpoint_to_the_thread(
    sqlite_db: Database, tmp_path: Path, thread_trips: list[str]
) -> None:
    """A commit in the loop does not copy the write-ahead log into the database file (that waits for the
    disk); `Database.checkpoint` does, in the connection's thread."""
    path = tmp_path / "driver.db"
    before = path.stat().st_size
    for batch in range(3):  # 6 MB: past SQLite's default of a checkpoint every 1,000 pages (4 MB)
        async with sqlite_db.transaction() as s:
            await s.execute(
                text("INSERT INTO notes (chat, body) VALUES (:c, :b)"),
                [{"c": f"{batch}-{i}", "b": "x" * 4000} for i in range(500)],
            )
    assert path.stat().st_size == before  # all of it still in the log
    assert thread_trips == []
    await sqlite_db.checkpoint()
    assert path.stat().st_size > 6_000_000
    assert len(thread_trips) == 1
