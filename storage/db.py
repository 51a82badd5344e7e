"""Engine, sessions and migrations; nothing here runs at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver
from storage.urgency import Urgency
from storage.writers import Writers

log = logging.getLogger(__name__)
T = TypeVar("T")

_IN_TURN: ContextVar[bool] = ContextVar("baoxiu_sqlite_turn", default=False)
# Inside a transaction or a statement of this task (or of a task it started): it may hold what urgent work
# needs (a connection, SQLite's turn), so it does not wait for urgent work.
_INSIDE: ContextVar[bool] = ContextVar("baoxiu_inside", default=False)
# An execution option: the connection runs one statement that stands alone (no BEGIN IMMEDIATE on SQLite).
_ALONE = "baoxiu_alone"

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    """True when the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


WAL_PAGES = 10_000  # pages in SQLite's write-ahead log before a commit copies it to the database file
POOL_SIZE = 20  # connections a worker keeps open to a database server (DATABASE_POOL_SIZE)
UNFLUSHED_POOL_SIZE = 4  # and for statements whose commit does not wait for the disk (one_statement)


def make_engine(url: str, *, pool_size: int = POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite every transaction takes the write lock up front, and statements run in the
    event loop's thread unless they would make it wait (storage/sqlite_driver.py)."""
    if not is_sqlite(url):
        # No pre-ping: it costs a round trip per transaction (a fifth of the bot's CPU per update). A
        # connection that died with a database restart fails its transaction once, SQLAlchemy then
        # replaces the pool's older connections, and callers retry (see is_transient).
        # The pool holds as many connections as the worker has transactions open at busy times (the inbox's
        # handlers, the sender's chats, the batchers): SQLAlchemy's default of 5 closed the extra ones as
        # they came back, so a burst opened a new connection (a server process forked, its statements
        # prepared again) for every fifth update or so.
        return create_async_engine(url, pool_size=pool_size, **kwargs)
    _prepare_sqlite_file(url)
    # The URL's file and options, as SQLAlchemy's aiosqlite dialect would open them.
    args, options = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    options = {"timeout": 30, **options}  # how long a statement waits for another process's lock
    engine = create_async_engine(url, async_creator=lambda: sqlite_driver.connect(*args, **options), **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Commits run in the event loop's thread (storage/sqlite_driver.py), and one that checkpoints the
        # log waits for the disk: the bot checkpoints in the connection's thread instead (Database.checkpoint,
        # every timer tick), and a commit does only if the log grew past 40 MB all the same.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        # Erased residents' data (dispatch/privacy) must not linger in the file's free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE serialises writers, so a read-then-write in one transaction can't be
        # interleaved by another (SQLite's stand-in for SELECT ... FOR UPDATE). A statement that stands
        # alone (Database.one_statement) needs none: SQLite makes it atomic by itself.
        if not conn.get_execution_options().get(_ALONE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _unflushed(engine_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The engine options for statements whose commit does not wait for the disk: the caller's, a few
    connections of their own (each holds one for a round trip: a burst waits its turn rather than open and
    close connections), and PostgreSQL told not to wait for the flush."""
    options = {**engine_kwargs, "pool_size": UNFLUSHED_POOL_SIZE, "max_overflow": 0}
    connect_args = dict(options.get("connect_args") or {})
    connect_args["server_settings"] = {**connect_args.get("server_settings", {}), "synchronous_commit": "off"}
    options["connect_args"] = connect_args
    return options


# PostgreSQL: serialization failure, deadlock detected, lock not available.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(exc: BaseException) -> bool:
    """True for errors that a retry of the whole transaction may not meet again (deadlock, busy database,
    a pooled connection that died with a database restart)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if state in _TRANSIENT_SQLSTATES or getattr(current, "connection_invalidated", False):
            return True
        text = str(current).lower()
        if "database is locked" in text or "deadlock detected" in text:
            return True
        orig = getattr(current, "orig", None)
        pending.extend(
            [orig if isinstance(orig, BaseException) else None, current.__cause__, current.__context__]
        )
    return False


class Database:
    """One engine and its session factory, created by the app at start-up."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.writers = Writers() if is_sqlite(url) else None
        # Stores a platform waits on (the inbox's) go before other work's transactions (storage/urgency.py).
        self.urgency = Urgency()
        # PostgreSQL: a few connections whose commits do not wait for the disk flush, for statements whose
        # caller waits on them and can afford to lose them in a crash of the database server itself
        # (one_statement(flushed=False)); opened when first used.
        self._unflushed = None if self.writers is not None else make_engine(url, **_unflushed(engine_kwargs))

    @property
    def engines(self) -> list[AsyncEngine]:
        """Every engine this database opens connections with (for counting statements and connections)."""
        return [self.engine] if self._unflushed is None else [self.engine, self._unflushed]

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite backend."""
        return is_sqlite(self.url)

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error. On SQLite the
        process's writers take turns, an `urgent` one (a platform waits for its answer) first; one that is
        not waits to begin while the inbox stores events (storage/urgency.py)."""
        async with self._after_urgent(urgent), self._transaction(urgent) as session:
            yield session

    @asynccontextmanager
    async def _after_urgent(self, urgent: bool) -> AsyncIterator[None]:
        """Wait for the inbox's stores in progress, unless urgent or already inside a transaction or statement
        of this task (it may hold what they need); inside for the duration."""
        if not urgent and not _INSIDE.get():
            await self.urgency.wait()
        inside = _INSIDE.set(True)
        try:
            yield
        finally:
            _INSIDE.reset(inside)

    @asynccontextmanager
    async def _transaction(self, urgent: bool) -> AsyncIterator[AsyncSession]:
        if self.writers is None or _IN_TURN.get():
            # Opened inside a transaction of this task (or a task it started): taking turns would make it
            # wait for its own caller; SQLite's lock alone keeps it apart, as it always did.
            async with self.sessions() as session, session.begin():
                yield session
            return
        held = await self.writers.acquire(urgent=urgent)
        token = _IN_TURN.set(True)
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            _IN_TURN.reset(token)
            if held:
                self.writers.release()

    @asynccontextmanager
    async def one_statement(
        self, *, urgent: bool = False, flushed: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that stands alone (atomic by itself: an INSERT of many rows, a
        DELETE). On PostgreSQL it runs without BEGIN and COMMIT, two round trips fewer, and with `flushed`
        False its commit does not wait for the disk (lost only if the database server itself crashes in
        the next instant); on SQLite it runs in the writers' turn, also without BEGIN and COMMIT."""
        async with self._after_urgent(urgent), self._one_statement(urgent, flushed) as connection:
            yield connection

    @asynccontextmanager
    async def _one_statement(self, urgent: bool, flushed: bool) -> AsyncIterator[AsyncConnection]:
        if self.writers is not None and _IN_TURN.get():
            # Inside a transaction of this task: taking turns would wait for its own caller.
            async with self.transaction(urgent=urgent) as session:
                yield await session.connection()
            return
        if self.writers is not None:
            # In the writers' turn, without BEGIN IMMEDIATE and COMMIT: pysqlite runs the statement in
            # autocommit mode (isolation_level None), one call instead of three.
            held = await self.writers.acquire(urgent=urgent)
            token = _IN_TURN.set(True)
            try:
                async with self.engine.connect() as connection:
                    yield await connection.execution_options(**{_ALONE: True})
            finally:
                _IN_TURN.reset(token)
                if held:
                    self.writers.release()
            return
        engine = self.engine if flushed or self._unflushed is None else self._unflushed
        async with engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def statements_alone(self) -> AsyncIterator[AsyncSession]:
        """A session whose statements each stand alone, committed one by one (on PostgreSQL without BEGIN and
        COMMIT: two round trips fewer), for work where each statement is atomic by itself and a failure
        halfway leaves nothing its caller cannot undo or wait out."""
        # The connection itself, not `one_statement`'s: a session binds to the engine's own connection, and
        # one_statement is what tests wrap to lose a statement's answer.
        async with (
            self._after_urgent(False),
            self._one_statement(False, True) as connection,
            AsyncSession(bind=connection, expire_on_commit=False) as session,
        ):
            yield session

    async def run_alone(
        self,
        work: Callable[[AsyncConnection, bool], Awaitable[T]],
        *,
        urgent: bool = False,
        flushed: bool = True,
    ) -> T:
        """`work` (one statement that stands alone) on `one_statement`'s connection; run once more if the
        connection had died (a database restart), as a transaction's caller would retry. A connection can
        die after the server committed and before the answer came, so `work` is told whether it runs again
        (its second argument) and must then cope with the first run's rows.

        Each engine's pool learns of a restart only from its own dead connection: the one for unflushed
        statements would otherwise fail its first statement after the others had recovered."""
        try:
            async with self.one_statement(urgent=urgent, flushed=flushed) as connection:
                return await work(connection, False)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # SQLAlchemy has invalidated the pool's older connections: the next one is new.
            log.warning("database connection lost; running the statement again on a new one")
        async with self.one_statement(urgent=urgent, flushed=flushed) as connection:
            return await work(connection, True)

    async def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file, in the connection's thread, without
        waiting for anyone (PASSIVE); nothing to do on PostgreSQL."""
        if self.writers is None:
            return
        async with self.engine.connect() as connection:
            alone = await connection.execution_options(**{_ALONE: True})
            await alone.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def upgrade(self) -> None:
        """Apply every Alembic migration (every branch head: features may add their own branches)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self._unflushed is not None:
            await self._unflushed.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at our migrations, optionally on a given connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "heads")


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
