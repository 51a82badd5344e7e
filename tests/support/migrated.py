"""A migrated database for each test, copied from one migrated once per session and backend.

Running every migration takes about half a second; copying a migrated SQLite file or creating a PostgreSQL
database from a migrated template takes a few milliseconds. `db_url` still names an empty database for the
tests that migrate it themselves (the CLI's `db upgrade`, the migrations' own tests).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.db import Database, is_sqlite
from tests.support import pg


class Templates:
    """One migrated database per backend, made on first use."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self.request = request
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    async def fill(self, url: str) -> None:
        """Make the (empty, unused) database at `url` a migrated one."""
        if is_sqlite(url):
            target = make_url(url).database
            assert target, url
            shutil.copyfile(await self._sqlite_template(), target)
        else:
            name = make_url(url).database
            assert name, url
            await pg.recreate_from(name, await self._postgres_template())

    async def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "migrated.db"
            database = Database(f"sqlite+aiosqlite:///{path}")
            try:
                await database.upgrade()
            finally:
                await database.dispose()  # the last connection's close folds the WAL into the file
            self._sqlite = path
        return self._sqlite

    async def _postgres_template(self) -> str:
        if self._postgres is None:
            name = f"baoxiu_template_{uuid.uuid4().hex[:12]}"
            await pg.create(name)
            pg.drop_later(self.request, name)
            database = Database(pg.url_of(name))
            try:
                await database.upgrade()
            finally:
                await database.dispose()  # a template must have no connections when it is copied
            self._postgres = name
        return self._postgres
