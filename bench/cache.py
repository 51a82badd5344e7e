"""History databases, built once with bulk inserts and cached under bench/.data/ and in PostgreSQL."""

# SQLite: executemany in big batches on one stdlib connection. PostgreSQL: COPY through asyncpg. The cache key
# holds the sizes, the generator's version and the schema's Alembic heads, so a new migration means a rebuild.

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import JSON, Boolean, Column, DateTime, Table

from bench import history
from bench.common import DATA, Backend, admin, pg_databases, pg_exists, pg_url, remove_sqlite
from storage.db import Database
from storage.models import Base

GENERATOR = "g4"  # bump when history.py changes what it generates
BATCH = 50_000


def schema_tag() -> str:
    """A short hash of the migration heads: the cache follows the schema."""
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    heads = sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
    return hashlib.sha1(",".join(heads).encode()).hexdigest()[:8]


def cache_key(plan: history.Plan) -> str:
    """The cached database's name (also a valid PostgreSQL identifier)."""
    return f"baoxiu_cache_{plan.tickets}_{plan.pending_timers}_{GENERATOR}_{schema_tag()}"


def _filler(column: Column[Any]) -> Any:
    """What to put in a column the generator doesn't know (added by someone after it was written)."""
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg  # type: ignore[attr-defined]
    if default is not None and getattr(default, "is_callable", False):
        return default.arg(None)  # type: ignore[attr-defined]
    if column.nullable:
        return None
    raise RuntimeError(f"bench/history.py doesn't fill {column.table.name}.{column.name}: teach it")


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DateTime format, naive UTC (see storage.models.UTCDateTime).
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _converter(column: Column[Any], sqlite: bool) -> Callable[[Any], Any] | None:
    """How a Python value is written raw (None: as it is): JSON as text; on SQLite 0/1 and time strings."""
    if isinstance(column.type, JSON):
        return _json
    if sqlite and isinstance(column.type, Boolean):
        return lambda v: None if v is None else int(v)
    if sqlite and isinstance(getattr(column.type, "impl", column.type), DateTime):
        return _sqlite_time
    return None


def _shape(
    table: Table, rows: Iterable[dict[str, Any]], sqlite: bool
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Column names and value tuples for a table, filling columns the generator doesn't know."""
    rows = iter(rows)
    first = next(rows)
    known = [c for c in table.columns if c.name in first]
    extra = [c for c in table.columns if c.name not in first and c.server_default is None]
    names = [c.name for c in known] + [c.name for c in extra]
    # Columns the generator doesn't know get one constant value, converted once.
    constant = tuple(conv(v) if (conv := _converter(c, sqlite)) else v for c in extra for v in [_filler(c)])
    pick = itemgetter(*[c.name for c in known])
    convert = [(i, conv) for i, c in enumerate(known) if (conv := _converter(c, sqlite))]

    def values() -> Iterator[tuple[Any, ...]]:
        for row in _chain(first, rows):
            picked = list(pick(row))
            for i, conv in convert:
                picked[i] = conv(picked[i])
            yield (*picked, *constant)

    return names, values()


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _tables(plan: history.Plan) -> Iterator[tuple[Table, Iterable[dict[str, Any]]]]:
    """Every generated table in foreign-key order."""
    people, staff = history.people(plan)
    meta = Base.metadata.tables
    yield meta["people"], people
    yield meta["identities"], history.identities(people)
    residents = range(staff.first_resident, len(people) + 1)
    yield meta["tickets"], history.tickets(plan, staff, residents)
    yield meta["ticket_events"], history.events(plan, staff, residents)
    yield meta["timers"], history.timers(plan)


def _batches(values: Iterator[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    while batch := list(islice(values, size)):
        yield batch


def _write_sqlite(path: Path, plan: history.Plan) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")  # a cache file being built: no crash safety needed
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        for table, rows in _tables(plan):
            names, values = _shape(table, rows, sqlite=True)
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            for batch in _batches(values):
                conn.executemany(sql, batch)
        conn.commit()
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


async def _write_postgres(name: str, plan: history.Plan) -> None:
    conn = await asyncpg.connect(pg_url(name, "postgresql"))
    try:
        for table, rows in _tables(plan):
            names, values = _shape(table, rows, sqlite=False)
            for batch in _batches(values):
                await conn.copy_records_to_table(table.name, records=batch, columns=names)
            if "id" in names:  # explicit ids: move the sequence past them
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
        await conn.execute("ANALYZE")  # what autovacuum would have done on a database this old
    finally:
        await conn.close()


async def template(backend: Backend, plan: history.Plan) -> str:
    """A cached history database for `plan`: a file path (SQLite) or a database name (PostgreSQL)."""
    key = cache_key(plan)
    prefix = f"baoxiu_cache_{plan.tickets}_{plan.pending_timers}_"
    if backend.name == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        path = DATA / f"{key}.db"
        if not path.exists():
            for stale in DATA.glob(f"{prefix}*.db"):
                remove_sqlite(stale)
            building = DATA / f"{key}.building.db"
            remove_sqlite(building)
            db = Database(f"sqlite+aiosqlite:///{building}")
            await db.upgrade()
            await db.dispose()
            await asyncio.to_thread(_write_sqlite, building, plan)
            building.rename(path)
        return str(path)
    if not await pg_exists(key):
        for name in await pg_databases(prefix):
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        scratch = key[:50] + "_build"
        await admin(f'CREATE DATABASE "{scratch}"')
        db = Database(pg_url(scratch))
        await db.upgrade()
        await db.dispose()
        await _write_postgres(scratch, plan)
        await admin(f'ALTER DATABASE "{scratch}" RENAME TO "{key}"')
    return key
