"""Shared fixtures: a migrated database, a fake clock, the demo site, a chat harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.clock import FakeClock
from dispatch.site import Site, load_site
from handlers.context import Services
from storage.db import Database
from storage.media import MediaStore
from tests.support.harness import START, Harness
from tests.support.pg import postgres_url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `db_url` run on SQLite and on PostgreSQL."""
    if "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for the backend the test is parametrized with."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return postgres_url(request)
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A freshly migrated database."""
    database = Database(db_url)
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock(START)


@pytest.fixture(scope="session")
def site() -> Site:
    """The built-in demo community."""
    return load_site(None)


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    """A media store in a temporary folder."""
    return MediaStore(tmp_path / "media")


@pytest.fixture
def services(site: Site, clock: FakeClock, media: MediaStore) -> Services:
    """Handler services on the fake clock."""
    return Services(site=site, clock=clock, media=media)


@pytest.fixture
def harness(db: Database, services: Services, clock: FakeClock) -> Harness:
    """Chats through the real router and outbox."""
    return Harness(db, services, clock)
