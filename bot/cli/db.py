"""`baoxiu db ...`: migrations, and an online backup of the SQLite database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.app import App
from bot.cli.common import Command
from bot.ops.backup import RESTORE_NOTE, BackupError, backup_sqlite, default_target, sqlite_path


def add_parsers(sub: Any) -> None:
    """db upgrade | backup."""
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations")
    backup = db.add_parser("backup", help="copy the SQLite database while the bot runs (online backup)")
    backup.add_argument("target", nargs="?", help="file to write (default ./data/backup-<time>.db)")


async def db_upgrade(app: App, args: argparse.Namespace) -> int:
    """Migrations already ran at start; say where the database is."""
    print(f"Database is up to date ({app.db.engine.url.render_as_string(hide_password=True)}).")
    return 0


async def db_backup(app: App, args: argparse.Namespace) -> int:
    """Online backup of the SQLite database, checked; prints where it went and how to restore."""
    try:
        source = sqlite_path(app.settings.database_url)
        target = Path(args.target) if args.target else default_target(source)
        size = await asyncio.to_thread(backup_sqlite, source, target)
    except BackupError as exc:
        print(f"baoxiu: {exc}", file=sys.stderr)
        return 2
    print(f"Backed up {source} to {target} ({size} bytes, integrity ok).")
    print(RESTORE_NOTE.format(db=source))
    return 0


COMMANDS: dict[str, Command] = {"db.upgrade": db_upgrade, "db.backup": db_backup}
