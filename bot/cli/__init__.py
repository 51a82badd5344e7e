"""The `baoxiu` command: `main` puts the subcommand modules together (run, db, tickets, staff, wechat)."""

from bot.cli.main import main

__all__ = ["main"]
