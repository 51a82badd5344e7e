"""Subcommand implementations registered with bot.cli."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

from bot.app import App, run_channels
from bot.cli import command, print_json
from bot.console import ConsoleChat
from dispatch.records import full_record, summary
from storage.repositories import Tickets


@command("run")
async def run(app: App, args: argparse.Namespace) -> int:
    """Start every configured channel; with none, the console demo."""
    if app.settings.has_telegram or app.settings.uses_wechat:
        if args.log_level is None:
            logging.getLogger().setLevel(logging.INFO)
        with stop_on_signals():
            try:
                await run_channels(app)
            except asyncio.CancelledError:
                logging.getLogger(__name__).info("stopped by signal")
        return 0
    print(
        "No TELEGRAM_BOT_TOKEN or WeChat app set: starting the console demo. Put TELEGRAM_BOT_TOKEN=... "
        "or WECHAT_APP_ID=... in .env (see .env.example) to connect Telegram or WeChat.",
        flush=True,
    )
    await ConsoleChat(app, sys.stdin, sys.stdout).run()
    return 0


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM (docker stop, systemd) and SIGINT end `run` cleanly: the current task is cancelled."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel if task else (lambda: None))
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@command("console")
async def console(app: App, args: argparse.Namespace) -> int:
    """A terminal chat with the bot."""
    await ConsoleChat(app, sys.stdin, sys.stdout).run()
    return 0


@command("db.upgrade")
async def db_upgrade(app: App, args: argparse.Namespace) -> int:
    """Migrations already ran at start; say where the database is."""
    print(f"Database is up to date ({app.db.engine.url.render_as_string(hide_password=True)}).")
    return 0


@command("db.backup")
async def db_backup(app: App, args: argparse.Namespace) -> int:
    """Online backup of the SQLite database, checked; prints where it went and how to restore."""
    import asyncio
    from pathlib import Path

    from bot.backup import RESTORE_NOTE, BackupError, backup_sqlite, default_target, sqlite_path

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


@command("tickets.list")
async def tickets_list(app: App, args: argparse.Namespace) -> int:
    """Latest tickets, newest first."""
    async with app.db.transaction() as session:
        tickets = await Tickets(session).listing(limit=args.limit, status=args.status)
        rows = [summary(t) for t in tickets]
    if args.json:
        print_json(rows)
    elif not rows:
        print("No tickets.")
    else:
        for row in rows:
            print(
                f"{row['number']}  {row['status']:<12} {row['category']:<12} {row['urgency']:<10} "
                f"{row['created_at']}"
            )
    return 0


@command("tickets.show")
async def tickets_show(app: App, args: argparse.Namespace) -> int:
    """One ticket with its event log."""
    async with app.db.transaction() as session:
        ticket = await Tickets(session).by_number(args.number)
        if ticket is None:
            print(f"No ticket {args.number}.", file=sys.stderr)
            return 1
        record = await full_record(session, ticket)
    if args.json:
        print_json(record)
        return 0
    print(f"{record['number']} [{record['status']}] {record['category']}/{record['urgency']}")
    print(f"  where: {record['address']}")
    print(f"  what:  {record['description']}")
    print(f"  photos: {len(record['photos'])}")
    for event in record["events"]:
        print(
            f"  {event['at']}  {event['kind']:<14} {event['from'] or '':>12} -> {event['to'] or ''}  "
            f"{event['actor'] or ''}"
        )
    return 0
