"""A PostgreSQL restart (every connection cut) costs the resident nothing: the next message is handled."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import make_url, select

from dispatch.clock import FakeClock
from handlers.context import Services
from storage.db import Database
from storage.models import InboundEvent
from tests.support.harness import Harness
from tests.support.pg import ADMIN_DSN, postgres_url


@pytest.fixture
async def pg(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A migrated PostgreSQL database (skipped without a server, except under CI)."""
    database = Database(postgres_url(request))
    await database.upgrade()
    yield database
    await database.dispose()


async def cut_connections(db: Database) -> int:
    """What a server restart does to the pool: every backend of this database is terminated."""
    name = make_url(db.url).database
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return len(rows)


async def test_messages_after_the_connections_died_are_handled_without_an_apology(
    pg: Database, services: Services, clock: FakeClock
) -> None:
    h = Harness(pg, services, clock)
    await h.say("r1", "/repair")
    await h.tap("r1", "My home")
    assert await cut_connections(pg) >= 1  # the pool held at least one live connection
    replies = await h.tap("r1", "Building 1")
    assert [m.text for m in replies if "Sorry" in m.text] == []
    assert "Unit 1" in h.last("r1").labels()
    await cut_connections(pg)
    await h.say("r1", "/cancel")
    async with pg.transaction() as session:
        handled = (await session.execute(select(InboundEvent.event_id))).scalars().all()
    assert len(handled) == 4  # every event recorded once: the retried one is not counted twice
    assert all("Sorry" not in text for text in h.texts("r1"))
