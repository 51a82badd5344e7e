"""Fixtures for end-to-end tests over HTTP against fake servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.clock import FakeClock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.tgbot import TgBot, settings_for


@pytest.fixture
async def tg_server() -> AsyncIterator[FakeTelegramServer]:
    """A fake Telegram Bot API on 127.0.0.1."""
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def tgbot(
    tg_server: FakeTelegramServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[TgBot]:
    """Our bot polling the fake server, on a fresh database."""
    bot = TgBot(tg_server, settings_for(tg_server, db_url, tmp_path / "media"), clock)
    await bot.start()
    yield bot
    await bot.stop()
