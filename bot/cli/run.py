"""`baoxiu run` (every configured channel, or the console demo) and `baoxiu console`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from typing import Any

from bot.app import App
from bot.channels import run_channels
from bot.cli.common import Command
from bot.console import ConsoleChat


def add_parsers(sub: Any) -> None:
    """run | console."""
    run = sub.add_parser("run", help="start every configured channel (console demo when none)")
    run.add_argument("--log-json", action="store_true", help="structured JSON logs")
    sub.add_parser("console", help="chat with the bot in this terminal")


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


async def console(app: App, args: argparse.Namespace) -> int:
    """A terminal chat with the bot."""
    await ConsoleChat(app, sys.stdin, sys.stdout).run()
    return 0


COMMANDS: dict[str, Command] = {"run": run, "console": console}
