"""Shared fixtures: a migrated database, a fake clock, the demo site, a chat harness."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.clock import FakeClock
from dispatch.site import Site, load_site
from handlers.context import Services
from storage.db import Database
from storage.media import MediaStore
from tests.support.harness import START, Harness
from tests.support.migrated import Templates
from tests.support.pg import postgres_url


@pytest.fixture(autouse=True)
async def _tasks_end_with_their_test() -> AsyncIterator[None]:
    """Tasks a test left running are cancelled once its fixtures are gone, again if one swallows it.

    The event loop's own teardown cancels each task once and then waits for all of them: a task that lets one
    cancellation pass (Python 3.11's `asyncio.wait_for` drops one that comes as its awaitable finishes) would
    hang the whole run there. Such a task is named in a warning."""
    yield
    loop, me = asyncio.get_running_loop(), asyncio.current_task()
    deadline, rounds = loop.time() + 10, 0
    while rest := [t for t in asyncio.all_tasks() if t is not me and not t.done()]:
        if rounds == 1 or loop.time() > deadline:
            warnings.warn(f"tasks outlived a cancellation: {rest}", stacklevel=1)
        if loop.time() > deadline:
            return
        for task in rest:
            task.cancel()
        await asyncio.wait(rest, timeout=0.1)
        rounds += 1


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


@pytest.fixture(scope="session")
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """Databases migrated once per session, copied for each test."""
    return Templates(request, tmp_path_factory.mktemp("migrated"))


@pytest.fixture
async def db(db_url: str, migrated: Templates) -> AsyncIterator[Database]:
    """A freshly migrated database (a copy of one migrated once)."""
    await migrated.fill(db_url)
    database = Database(db_url)
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
