"""The `baoxiu` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bot.app import App, build_app
from bot.settings import Settings, SettingsError, load_settings
from dispatch.site import SiteError

Command = Callable[[App, argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    """Register a subcommand implementation under a dotted name like "tickets.list"."""

    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def parser() -> argparse.ArgumentParser:
    """All subcommands and their flags."""
    p = argparse.ArgumentParser(prog="baoxiu", description="Baoxiu repair-request bot")
    p.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING ... (default INFO; WARNING in the console)"
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start every configured channel (console demo when none)")
    run.add_argument("--log-json", action="store_true", help="structured JSON logs")
    sub.add_parser("console", help="chat with the bot in this terminal")
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations")
    backup = db.add_parser("backup", help="copy the SQLite database while the bot runs (online backup)")
    backup.add_argument("target", nargs="?", help="file to write (default ./data/backup-<time>.db)")
    tickets = sub.add_parser("tickets", help="look at tickets").add_subparsers(dest="action", required=True)
    listing = tickets.add_parser("list", help="latest tickets")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    show = tickets.add_parser("show", help="one ticket with its event log")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")
    for extend in EXTENSIONS:
        extend(sub)
    return p


# Later modules (staff, wechat) add their subcommands here.
EXTENSIONS: list[Callable[[Any], None]] = []


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    _load_extensions()
    args = parser().parse_args(argv)
    from bot import logging_setup

    logging_setup.configure(args.log_level or "WARNING", json_lines=getattr(args, "log_json", False))
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"baoxiu: {exc}", file=sys.stderr)
        return 2
    logging_setup.REDACT.add(logging_setup.secrets_of(settings))
    name = args.cmd + (f".{args.action}" if getattr(args, "action", None) else "")
    try:
        return asyncio.run(_run(settings, name, args))
    except SiteError as exc:
        print(f"baoxiu: site file: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(settings: Settings, name: str, args: argparse.Namespace) -> int:
    app = build_app(settings)
    try:
        await app.start()
        return await COMMANDS[name](app, args)
    finally:
        await app.close()


def _load_extensions() -> None:
    # Importing registers commands; kept here so nothing heavy happens at import of bot.cli.
    from bot import cli_commands, cli_staff, cli_wechat  # noqa: F401


def print_json(value: Any) -> None:
    """Pretty JSON on stdout, Chinese kept readable."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
