"""The `baoxiu` command line: the subcommand modules' parsers and commands, put together in one table."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import build_app
from bot.cli import assets, audit, db, export, residents, run, staff, tickets, wechat
from bot.cli.common import Command
from bot.ops import logs
from bot.settings import Settings, SettingsError, load_settings
from dispatch.site import SiteError

MODULES = (run, db, tickets, staff, residents, audit, wechat, export, assets)
# Every subcommand by its dotted name ("tickets.list").
COMMANDS: dict[str, Command] = {name: fn for module in MODULES for name, fn in module.COMMANDS.items()}


def parser() -> argparse.ArgumentParser:
    """All subcommands and their flags."""
    p = argparse.ArgumentParser(prog="baoxiu", description="Baoxiu repair-request bot")
    p.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING ... (default INFO; WARNING in the console)"
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for module in MODULES:
        module.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    logs.configure(args.log_level or "WARNING", json_lines=getattr(args, "log_json", False))
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"baoxiu: {exc}", file=sys.stderr)
        return 2
    logs.REDACT.add(logs.secrets_of(settings))
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
