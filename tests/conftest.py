"""Shared fixtures: a migrated database, a fake clock, the demo site, a chat harness."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from dispatch.clock import FakeClock
from dispatch.site import Site, load_site
from handlers.context import Services
from storage.db import Database
from storage.media import MediaStore
from tests.harness import Harness
from tests.pg import postgres_url

# 09:00 in Shanghai: office hours, so nothing is "tomorrow" by accident.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


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


def jpeg(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30), exif: bool = False
) -> bytes:
    """A small JPEG, optionally with GPS EXIF."""
    image = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"
        data[0x8825] = {1: "N", 2: (22.0, 32.0, 1.0), 3: "E", 4: (114.0, 3.0, 0.5)}
        image.save(buffer, "JPEG", exif=data)
    else:
        image.save(buffer, "JPEG")
    return buffer.getvalue()


def in_ci() -> bool:
    """True under CI, where skipping for a missing service is not allowed."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
