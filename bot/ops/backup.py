"""`baoxiu db backup`: a consistent copy of the SQLite database while the bot keeps running.

SQLite's online backup API copies the database page by page under one read transaction; in WAL mode that
does not stop the bot writing. The copy is checked with `PRAGMA integrity_check`.

Restore: stop the bot, move the database file away together with its `-wal` and `-shm` files, copy the
backup in its place under the database's name, start the bot (it applies any newer migrations). On
PostgreSQL use `pg_dump -Fc` and `pg_restore` instead.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

RESTORE_NOTE = (
    "To restore: stop the bot; move {db} and its -wal/-shm files away; copy the backup to {db}; "
    "start the bot."
)


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def sqlite_path(url: str) -> Path:
    """The database file of an SQLite URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            "`baoxiu db backup` copies SQLite databases; for PostgreSQL use pg_dump -Fc (and pg_restore)."
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("the database is in memory; there is no file to back up")
    return Path(parsed.database).expanduser()


def default_target(source: Path, now: datetime | None = None) -> Path:
    """backup-YYYYmmdd-HHMMSS.db next to the database."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return source.parent / f"backup-{stamp}.db"


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` into `target` (which must not exist) with the online backup API; return its size."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        result = dst.execute("PRAGMA integrity_check").fetchone()
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()
    if not result or result[0] != "ok":
        target.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {result}")
    return target.stat().st_size
