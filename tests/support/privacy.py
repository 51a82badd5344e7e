"""Helpers for the privacy tests: a whole database and media folder searched for a resident's details."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import Base


async def rows_holding(db: Database, needle: str) -> list[str]:
    """Every row of every table whose values, written out, contain `needle` (as "table: row")."""
    found: list[str] = []
    async with db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                text = " ".join(str(value) for value in row)
                if needle in text:
                    found.append(f"{table.name}: {text[:300]}")
    return found


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle`."""
    if not root.exists():
        return []
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def stored_files(root: Path) -> set[str]:
    """The names of the files in a media folder."""
    return {path.name for path in root.rglob("*") if path.is_file()} if root.exists() else set()
