"""aiosqlite whose statements run in the event loop's thread, and go to the connection's thread only to wait.

aiosqlite runs every sqlite3 call in the connection's own thread; each trip hands the GIL to the thread and
back and wakes the event loop through its self-pipe, which on the bot's busiest path cost more CPU than
SQLite's own work (bench/RESULTS.md). SQLite's work for the bot's statements is a few microseconds, so here a
statement runs where it is called, in one call (executed and its rows fetched), and goes to the thread only
when it would make the loop wait:

- for a lock another process holds (SQLite says "busy" at once: the loop never sleeps in SQLite's busy
  handler); the thread then waits for it, as long as the connection's `timeout`, and the loop goes on;
- for a read outside a transaction (a report, an export): it may be long, and needs no lock, so it runs
  beside the loop as before; so does an executemany outside a transaction (each row commits by itself);
- for a checkpoint of the write-ahead log (it waits for the disk);
- for a read inside a transaction that runs longer than `INLINE_READ` (cut short by a progress handler,
  which for a read changes nothing, and run again whole in the thread);
- for anything asked while a call still runs there (its task was cancelled, and SQLAlchemy rolls back or
  closes the connection): it queues behind that call, never beside it.

Writes inside a transaction never wait for a lock (BEGIN IMMEDIATE took it) and are not cut short (SQLite
would roll back the whole transaction), so they run where they are called; so do commits, which leave the
checkpoint to the thread (storage/db.py). Everything else (the thread, commit, rollback, close, the isolation
level) is aiosqlite's own.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.context import contextmanager

T = TypeVar("T")
# aiosqlite's default: rows a plain aiosqlite cursor fetches per trip.
_ITER_CHUNK_SIZE = 64
# How long a read inside a transaction may hold the loop before it goes to the thread (seconds).
INLINE_READ = 0.005
# SQLite's virtual-machine instructions between two looks at the clock while such a read runs.
_LOOK_EVERY = 10_000
# A statement that only reads: SELECT, or WITH without INSERT, UPDATE or DELETE (SQLAlchemy writes its
# keywords in capitals; a literal that looks like one only makes a read go uncut, never a write cut).
_READ = re.compile(r"\s*(SELECT\b|WITH\b(?!.*\b(INSERT|UPDATE|DELETE|REPLACE)\b))", re.IGNORECASE | re.DOTALL)
# A checkpoint copies the write-ahead log to the database file and waits for the disk: the thread's work.
_CHECKPOINT = re.compile(r"\s*PRAGMA\s+(\w+\.)?wal_checkpoint\b", re.IGNORECASE)

_Outcome = tuple[Any, list[Any], int, Any]


def _run(conn: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """Execute and fetch every row (as SQLAlchemy's adapter does right after)."""
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


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite refused for a lock another connection holds (any of SQLITE_BUSY's extended codes)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class Cursor:
    """A cursor that holds its statement's outcome; only `execute` and `executemany` reach SQLite.

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
        """Run one statement, its rows fetched, in one call."""
        await self._run(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Any) -> Cursor:
        """Run one statement for many rows of parameters in one call."""
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
        """Drop the rows (the sqlite3 cursor was closed when its statement ran)."""
        self._rows = []


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run in the loop's thread unless they would make it wait."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int, patience: float
    ) -> None:
        super().__init__(connector, iter_chunk_size)
        self.patience = patience  # seconds the thread waits for another process's lock
        # Calls begun and calls ended: when they are equal nothing runs in the thread, so the connection's
        # state can be read from the loop.
        self._asked = 0
        self._done = 0
        self._deadline = 0.0  # while a read runs in the loop: when it is cut short
        self._cut = False  # the last read was cut short by the deadline, not by an error

    async def _connect(self) -> Connection:
        await super()._connect()
        # SQLite answers "busy" at once; the thread, not the loop, waits (`_waiting`).
        self._conn.execute("PRAGMA busy_timeout = 0")
        return self

    @property
    def _thread_busy(self) -> bool:
        """A call still runs in the thread (its task was cancelled meanwhile): later calls queue behind it,
        as in aiosqlite, never beside it on the loop."""
        return self._asked != self._done

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """aiosqlite's calls (commit, rollback, close, ...): in the loop, in the thread if a lock is busy
        (only a COMMIT outside WAL mode can meet one; it may be run again)."""
        if self._thread_busy:
            return await self._to_thread(self._plain, fn, *args, **kwargs)
        try:
            return self._counted(fn, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        return await self._to_thread(self._waiting, fn, *args, **kwargs)

    async def _to_thread(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`work(*args)` in the connection's thread, behind whatever is queued there."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")  # as aiosqlite says, before anything is counted
        self._asked += 1
        result: T = await super()._execute(work, *args, **kwargs)  # type: ignore[no-untyped-call]
        return result

    def _counted(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._asked += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self._done += 1

    def _plain(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """In the thread: `fn` as it is (a close, a rollback)."""
        try:
            return fn(*args, **kwargs)
        finally:
            self._done += 1

    def _waiting(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """In the thread: `fn` with SQLite's busy handler waiting for locks, switched off again after."""
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.patience * 1000)}")
            try:
                return fn(*args, **kwargs)
            finally:
                self._conn.execute("PRAGMA busy_timeout = 0")
        finally:
            self._done += 1

    def _look_at_clock(self) -> int:
        """SQLite's progress handler while a read runs in the loop: nonzero cuts it short."""
        if time.monotonic() > self._deadline:
            self._cut = True
            return 1
        return 0

    async def rollback(self) -> None:
        """Roll back the open transaction. With none open (SQLAlchemy's pool resets every connection given
        back, after each commit) there is nothing to do."""
        if self._connection is not None and not self._thread_busy and not self._conn.in_transaction:
            return
        await super().rollback()

    @contextmanager
    async def cursor(self) -> Cursor:  # type: ignore[override]
        """A cursor; creating it costs nothing."""
        return Cursor(self)

    async def call(self, fn: Callable[..., _Outcome], sql: str, parameters: Any, many: bool) -> _Outcome:
        """`fn(sqlite3 connection, sql, parameters, many)` for one statement: in the loop, or in the thread
        where it would make the loop wait (see the module's docstring)."""
        conn = self._conn
        args = (conn, sql, parameters, many)
        in_transaction, read = conn.in_transaction, _READ.match(sql) is not None
        if self._thread_busy or (not in_transaction and (many or read or _CHECKPOINT.match(sql))):
            # Outside a transaction a read may be long, and each row of an executemany commits by itself,
            # so one that met a busy lock halfway could not simply be run again: the thread waits instead.
            return await self._to_thread(self._waiting, fn, *args)
        if not read:
            try:
                return self._counted(fn, *args)
            except sqlite3.OperationalError as exc:
                # Run again only what had not begun a transaction (BEGIN IMMEDIATE, a write that stands
                # alone): inside one SQLite wants a rollback, and in WAL mode it never answers busy there.
                if in_transaction or not _busy(exc):
                    raise
            return await self._to_thread(self._waiting, fn, *args)
        self._deadline, self._cut = time.monotonic() + INLINE_READ, False
        conn.set_progress_handler(self._look_at_clock, _LOOK_EVERY)
        try:
            return self._counted(fn, *args)
        except sqlite3.OperationalError:
            if not self._cut:
                raise
        finally:
            # Only while it runs here: in the thread each call would wait for the loop's hold on the GIL.
            conn.set_progress_handler(None, 0)
        return await self._to_thread(self._waiting, fn, *args)


def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> Connection:
    """Like `aiosqlite.connect`: awaiting it opens the connection in its own thread; `timeout` is how long
    a statement waits (in that thread) for a lock another process holds."""
    # Used from the loop's thread and, to wait, its own: never both at once (one call at a time).
    opener = partial(sqlite3.connect, database, timeout=timeout, **{**kwargs, "check_same_thread": False})
    connection = Connection(opener, _ITER_CHUNK_SIZE, timeout)
    # As SQLAlchemy does for aiosqlite's own connections: a forgotten one must not keep the process alive.
    connection._thread.daemon = True
    return connection
