"""SQLite's driver (storage/sqlite_driver.py): one trip to the connection's thread per statement, with the
same results, counts and errors as aiosqlite's own cursors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


async def test_each_statement_is_one_trip_to_the_thread(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = 0
    execute = sqlite_driver.Connection._execute

    async def counted(self: sqlite_driver.Connection, fn: Any, *args: Any) -> Any:
        nonlocal trips
        trips += 1
        return await execute(self, fn, *args)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)
    async with sqlite_db.transaction() as s:
        await s.execute(text("INSERT INTO notes (chat, body) VALUES ('1', 'a')"))
        assert (await s.execute(text("SELECT body FROM notes"))).scalar_one() == "a"
        await s.execute(text("UPDATE notes SET body = 'b'"))
    # BEGIN IMMEDIATE, three statements, COMMIT. aiosqlite took 15: a cursor, the statement, its rows and
    # the cursor's close each a trip, and the pool's reset of the connection given back (a rollback with
    # nothing to roll back).
    assert trips == 5


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


async def test_a_statement_that_stands_alone_is_one_trip_and_all_or_nothing(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Database.one_statement` on SQLite: no BEGIN IMMEDIATE and COMMIT, and still atomic: a batch whose
    last row fails stores none of its rows."""
    trips = 0
    execute = sqlite_driver.Connection._execute

    async def counted(self: sqlite_driver.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await execute(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)
    many = text("INSERT INTO notes (chat, body) VALUES ('1', 'a'), ('2', 'b')")
    async with sqlite_db.one_statement() as connection:
        await connection.execute(many)
    assert trips == 1
    with pytest.raises(IntegrityError):
        async with sqlite_db.one_statement() as connection:
            await connection.execute(text("INSERT INTO notes (chat, body) VALUES ('3', 'c'), ('1', 'again')"))
    async with sqlite_db.transaction() as s:  # committed at once; the failed batch left nothing
        rows = (await s.execute(text("SELECT chat, body FROM notes ORDER BY chat"))).all()
    assert [tuple(r) for r in rows] == [("1", "a"), ("2", "b")]
