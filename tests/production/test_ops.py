"""Operations: masked and structured logs, `baoxiu db backup`, settings for production."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.ops.logs import REDACT, JsonFormatter, RedactingFormatter, Redactor, secrets_of
from bot.settings import SettingsError, load_settings
from storage.db import is_transient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("phone=+86 138 1234 5678;", "phone=138****5678;"),
        ("tel 0755-12345678", "tel 075*****5678"),
        ("intl +447911123456 ok", "intl +44******3456 ok"),
        ("[parameters: ('13912345678', 'x')]", "[parameters: ('139****5678', 'x')]"),
    ],
)
def test_phone_numbers_are_masked(raw: str, masked: str) -> None:
    assert Redactor()(raw) == masked


@pytest.mark.parametrize(
    "kept",
    [
        "ticket BX-20261123-0007 for chat 7001",
        "group -1001234567890 and update 1234567890",
        "2026-11-23 01:00:00.123456 outbox row 42",
        "took 0.25s, 30 messages",
    ],
)
def test_ordinary_numbers_are_kept(kept: str) -> None:
    assert Redactor()(kept) == kept


def test_secrets_and_bot_tokens_are_masked() -> None:
    redact = Redactor(["s3cret-webhook-value", "abc"])  # too short to mask safely: ignored
    text = "POST https://api.telegram.org/bot123456789:AAHfakeTokenForTestsOnly_abcdefghijkl/sendMessage"
    assert "AAHfake" not in redact(text)
    assert redact("secret s3cret-webhook-value!") == "secret ***!"
    assert redact("abc") == "abc"


def test_settings_secrets_are_collected() -> None:
    settings = load_settings(
        telegram_bot_token="1:TOKEN-VALUE",
        database_url="postgresql+asyncpg://bx:db-password-1@db/baoxiu",
        telegram_webhook_url="https://bot.example/hook",
        telegram_webhook_secret="w" * 20,
    )
    found = secrets_of(settings)
    assert {"1:TOKEN-VALUE", "db-password-1", "w" * 20} <= set(found)


def test_json_lines_mask_messages_arguments_and_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.json")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("resident %s wrote", "13812345678", extra={"chat": "7001"})
        try:
            raise ValueError("bad phone 13912345678")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "resident 138****5678 wrote" and first["level"] == "WARNING"
    assert first["chat"] == "7001" and first["logger"] == "test.json" and "ts" in first
    assert "13912345678" not in second["exc"] and "139****5678" in second["exc"]


def test_text_format_is_masked_too() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "phone %s", ("13812345678",), None)
    assert "138****5678" in RedactingFormatter("%(message)s").format(record)


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BAOXIU_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        "BAOXIU_MEDIA_DIR": str(tmp_path / "media"),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_backup_while_another_connection_writes(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0  # also: no --log-level needed
    live = tmp_path / "live.db"
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(live, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        n = 0
        while not stop.is_set():
            conn.execute(
                "INSERT INTO inbound_events (channel, event_id, received_at) VALUES ('t', ?, '2026-01-01')",
                (str(n),),
            )
            conn.commit()
            n += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = run_cli(tmp_path, "db", "backup", str(tmp_path / "copy.db"))
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout and "To restore" in result.stdout
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM inbound_events").fetchone()[0] >= 0
    assert copy.execute("SELECT version_num FROM alembic_version").fetchall()
    again = run_cli(tmp_path, "db", "backup", str(tmp_path / "copy.db"))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_backup_refuses_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from tests.support.pg import postgres_url

    result = run_cli(tmp_path, "db", "backup", env={"DATABASE_URL": postgres_url(request)})
    assert result.returncode == 2 and "pg_dump" in result.stderr


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(telegram_webhook_url="https://bot.example/hook")
    with pytest.raises(SettingsError, match="https"):
        load_settings(telegram_webhook_url="http://bot.example/hook", telegram_webhook_secret="x" * 20)
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(telegram_webhook_url="https://bot.example/hook", telegram_webhook_secret="short")


def test_transient_database_errors_are_recognised() -> None:
    class PgError(Exception):
        sqlstate = "40P01"

    wrapped = RuntimeError("outer")
    wrapped.__cause__ = PgError("deadlock")
    assert is_transient(wrapped)
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert not is_transient(ValueError("no"))


def test_global_redactor_learns_the_settings_secrets() -> None:
    before = set(REDACT.secrets)
    try:
        REDACT.add(["token-value-xyz"])
        assert REDACT("a token-value-xyz b") == "a *** b"
    finally:
        REDACT.secrets = before
