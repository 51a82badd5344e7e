"""A tap the process answers itself (every tap on Telegram) leaves the outbox's claim of tap answers asleep:
that claim is a transaction, and after every tap it found nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.app import build_app
from bot.channels import TelegramRunner
from dispatch.clock import FakeClock
from storage.db import Database
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.tgbot import TgBot, settings_for

U = 5101


@contextmanager
def answer_claims(db: Database) -> Iterator[list[str]]:
    """The statements that claim pending tap answers (bot/outbox/answers.py), while inside."""
    claims: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.startswith("UPDATE outbox SET status") and "outbox.kind =" in sql:
            claims.append(sql)

    engines = [engine.sync_engine for engine in db.engines]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", statement)
    try:
        yield claims
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", statement)


async def test_taps_answered_here_do_not_wake_the_claim_of_answers(
    tg_server: FakeTelegramServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    bot = TgBot(tg_server, settings_for(tg_server, db_url, tmp_path / "media"), clock)
    app = bot.app = build_app(bot.settings, clock=clock)
    await app.start()
    # The sender's own passes a minute apart: what claims answers meanwhile was woken by the taps.
    bot.runner = TelegramRunner(app, sender_interval=60.0)
    await bot.runner.start(poll_interval=0.0, long_poll=1)
    try:
        await bot.say(U, "/repair", expect="Where is the problem?", language_code="en")
        with answer_claims(app.db) as claims:
            for label, expect in [
                ("My home", "Which building"),
                ("Building 1", "Which unit"),
                ("Unit 1", "room"),
            ]:
                await bot.tap(U, label, expect=expect)
        assert len(tg_server.calls("answerCallbackQuery")) == 3  # every tap was answered, and at once
        assert claims == []
    finally:
        await bot.stop()
