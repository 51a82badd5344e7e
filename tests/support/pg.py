"""A throwaway PostgreSQL database per test, or a clear skip when there is no server (never under CI)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import pytest

ADMIN_DSN = os.environ.get("BAOXIU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def create(name: str) -> None:
    """Create an empty database."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def recreate_from(name: str, template: str) -> None:
    """Replace the database `name` with a copy of `template` (a migrated one: far quicker than migrating)."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


def drop_later(request: pytest.FixtureRequest, name: str) -> None:
    """Drop the database when the request (a test, the session) ends."""
    request.addfinalizer(lambda: _run_in_thread(_drop(name)))


def url_of(name: str) -> str:
    """The SQLAlchemy URL of a database on the test server."""
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def _drop(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def postgres_url(request: pytest.FixtureRequest) -> str:
    """Create a fresh database for this test and drop it afterwards."""
    name = f"baoxiu_test_{uuid.uuid4().hex[:12]}"
    try:
        _run_in_thread(create(name))
    except (OSError, asyncpg.PostgresError) as exc:
        if _in_ci():
            raise RuntimeError(
                f"PostgreSQL is required under CI but unreachable at {ADMIN_DSN}: {exc}"
            ) from exc
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_DSN} ({exc}); set BAOXIU_TEST_POSTGRES to run these")
    drop_later(request, name)
    return url_of(name)


def _run_in_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion whether or not the caller's thread has an event loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
