"""Logging for the bot: plain or JSON lines, with phone numbers and secrets masked on the way out.

Masking happens in the formatter, on the finished text (message, arguments, exception and stack alike), so
nothing reaches the log with a phone number or a known secret in it, whichever library logged it: an SQL
error echoing its parameters, an HTTP client logging a URL with the bot token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from handlers.validate import mask_phone, normalize_phone

# Mainland mobiles with optional +86 and separators, landlines with an area code, international + numbers.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"
    r"|(?<![\w])0\d{2,3}[\s-]?\d{7,8}(?!\d)"
    r"|(?<![\w+])\+[1-9]\d{6,14}(?!\d)"
)
# Telegram bot tokens (123456789:AA...): masked even when not configured here.
_BOT_TOKEN = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")
MASK = "***"

# The fields a LogRecord always has; anything else was passed with `extra=` and goes into the JSON.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Redactor:
    """Masks phone numbers, bot tokens and the secret values it was given."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret values (short ones are ignored: they would mask ordinary words)."""
        self.secrets.update(s for s in secrets if s and len(s) >= 6)

    def __call__(self, text: str) -> str:
        """The text with every secret and phone number masked."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        text = _BOT_TOKEN.sub(MASK, text)
        return _PHONE.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    compact = re.sub(r"[^\d+]", "", match.group(0))
    return mask_phone(normalize_phone(compact) or compact)


REDACT = Redactor()


class RedactingFormatter(logging.Formatter):
    """The usual text format, masked."""

    def format(self, record: logging.LogRecord) -> str:
        """Format, then mask."""
        return REDACT(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, exception, and any `extra=` fields; masked."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as JSON, then mask every string in it."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        entry.update(process=record.process, task=getattr(record, "taskName", None))
        return REDACT(json.dumps(entry, ensure_ascii=False, default=str))


def configure(
    level: str | int = "WARNING", *, json_lines: bool = False, stream: TextIO | None = None
) -> None:
    """Replace the root logger's handlers with one masked handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Request lines would carry the bot token in their URLs and say nothing useful.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two lines a timer pass otherwise


def secrets_of(settings: object) -> list[str]:
    """Every secret value in the settings: SecretStr fields and the database password."""
    from pydantic import SecretStr
    from sqlalchemy.engine import make_url

    found: list[str] = []
    for value in vars(settings).values():
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
    url = getattr(settings, "database_url", "")
    if url:
        try:
            password = make_url(url).password
        except Exception:
            password = None
        if password:
            found.append(str(password))
    return found
