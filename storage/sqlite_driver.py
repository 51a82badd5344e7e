"""aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call in the connection's thread, and SQLAlchemy's adapter makes four such calls
for a statement (open a cursor, execute, fetch, close). Each trip hands the GIL to the thread and back and
wakes the event loop through its self-pipe: on the bot's busiest path that cost more CPU than SQLite's own
work (bench/RESULTS.md). This connection runs the whole statement, rows fetched, in one trip; everything
else (the thread, commit, rollback, close, functions, the isolation level) is aiosqlite's own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# aiosqlite's default: rows a plain aiosqlite cursor fetches per trip.
_ITER_CHUNK_SIZE = 64

_Outcome = tuple[Any, list[Any], int, Any]


def _run(conn: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: execute and fetch every row (as SQLAlchemy's adapter does right after)."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # Read after the fetch: for INSERT ... RETURNING sqlite3 counts the rows as they are fetched.
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class Cursor:
    """A cursor that holds its statement's outcome; only `execute` and `executemany` leave the loop.

    Rows are fetched at once, also for SQLAlchemy's server-side cursors (not used here: every result is
    read whole anyway)."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: Any = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        """Run one statement in one trip."""
        await self._run(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Any) -> Cursor:
        """Run one statement for many rows of parameters in one trip."""
        await self._run(sql, parameters, many=True)
        return self

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> None:
        outcome = await self._connection.call(_run, sql, parameters, many)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome

    async def fetchall(self) -> list[Any]:
        """The rows not fetched yet."""
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` next rows."""
        n = size or self.arraysize
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def close(self) -> None:
        """Drop the rows (the sqlite3 cursor was closed in its trip)."""
        self._rows = []


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors take one trip per statement."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # Trips asked for (counted by the event loop) and trips done (counted by the thread): when they are
        # equal the thread is idle, so the connection's state can be read from the loop.
        self._asked = 0
        self._done = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._asked += 1
        return await super()._execute(self._counted, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def _counted(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            self._done += 1

    async def rollback(self) -> None:
        """Roll back the open transaction. With none open (SQLAlchemy's pool resets every connection given
        back, after each commit) there is nothing to do and no trip is taken."""
        idle = self._connection is not None and self._asked == self._done
        if idle and not self._conn.in_transaction:
            return
        await super().rollback()

    @contextmanager
    async def cursor(self) -> Cursor:  # type: ignore[override]
        """A cursor; creating it costs no trip."""
        return Cursor(self)

    async def call(self, fn: Callable[..., _Outcome], *args: Any) -> _Outcome:
        """`fn(sqlite3 connection, *args)` in the connection's thread."""
        outcome: _Outcome = await self._execute(fn, self._conn, *args)
        return outcome


def connect(database: str, **kwargs: Any) -> Connection:
    """Like `aiosqlite.connect`: awaiting it opens the connection in its own thread."""
    connection = Connection(partial(sqlite3.connect, database, **kwargs), _ITER_CHUNK_SIZE)
    # As SQLAlchemy does for aiosqlite's own connections: a forgotten one must not keep the process alive.
    connection._thread.daemon = True
    return connection
