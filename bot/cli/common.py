"""What every `baoxiu` subcommand module shares: the shape of a command, and JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Coroutine
from typing import Any

from bot.app import App

# A subcommand: the app (started, migrations applied) and the parsed flags in; the exit status out.
Command = Callable[[App, argparse.Namespace], Coroutine[Any, Any, int]]


def print_json(value: Any) -> None:
    """Pretty JSON on stdout, Chinese kept readable."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
