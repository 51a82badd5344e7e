"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database, alembic_config
from storage.models import Base


def test_one_line_of_history() -> None:
    """One head: every migration builds on the one before, so operators upgrade in one known order."""
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []
