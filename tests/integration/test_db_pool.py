"""A busy worker keeps its PostgreSQL connections: a second burst opens none (each forks a server process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.app import build_app
from bot.settings import Settings
from storage.db import Database
from tests.support.pg import postgres_url


@pytest.fixture
async def pg_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """An empty PostgreSQL database (skipped without a server, except under CI)."""
    yield postgres_url(request)


def count_connects(db: Database) -> list[int]:
    """A counter of the connections the engine opens from now on."""
    opened = [0]

    @event.listens_for(db.engine.sync_engine, "connect")
    def _connect(*_: Any) -> None:
        opened[0] += 1

    return opened


async def burst(db: Database, size: int) -> None:
    """`size` transactions open at once, as the inbox's handlers and the sender's chats are in a burst."""
    all_in = asyncio.Barrier(size)

    async def one() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            await all_in.wait()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(size))), 30)


async def test_a_second_burst_reuses_the_connections_of_the_first(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)  # the default, whatever this shell says
    db = build_app(Settings(database_url=pg_url, _env_file=None)).db  # type: ignore[call-arg]
    opened = count_connects(db)
    try:
        await burst(db, 15)
        assert opened[0] == 15
        await burst(db, 15)
        await burst(db, 15)
        assert opened[0] == 15  # SQLAlchemy's default pool kept 5 and opened 10 anew in every burst
    finally:
        await db.dispose()


async def test_the_pool_size_is_the_operators_setting(pg_url: str) -> None:
    db = build_app(Settings(database_url=pg_url, database_pool_size=4, _env_file=None)).db  # type: ignore[call-arg]
    opened = count_connects(db)
    try:
        await burst(db, 6)
        await burst(db, 6)
        assert opened[0] == 6 + 2  # four kept; the two beyond them are opened for a burst and closed after
    finally:
        await db.dispose()


async def test_a_statement_that_need_not_wait_for_the_disk_leaves_the_others_waiting(pg_url: str) -> None:
    """`one_statement(flushed=False)` commits without waiting for the disk flush; the pool's transactions
    and other statements still wait for it, before and after."""
    db = Database(pg_url)
    show = text("SHOW synchronous_commit")
    try:
        for _ in range(3):
            async with db.one_statement(flushed=False) as connection:
                assert (await connection.execute(show)).scalar_one() == "off"
            async with db.one_statement() as connection:
                assert (await connection.execute(show)).scalar_one() == "on"
            async with db.transaction() as session:
                assert (await session.execute(show)).scalar_one() == "on"
    finally:
        await db.dispose()
