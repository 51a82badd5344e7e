"""TELEGRAM_CONNECTIONS: how many Bot API calls one worker has in flight, as Telegram's side sees it."""

from __future__ import annotations

from pathlib import Path

from dispatch.clock import FakeClock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.tgbot import TgBot, settings_for


async def test_a_burst_of_replies_keeps_to_the_connection_setting(
    tg_server: FakeTelegramServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    tg_server.latency = 0.05  # a far-away Telegram: calls overlap unless the bot holds them back
    settings = settings_for(tg_server, db_url, tmp_path / "media", telegram_connections=2)
    bot = TgBot(tg_server, settings, clock)
    await bot.start()
    users = range(6001, 6013)
    try:
        for user in users:
            tg_server.push_message(user, "/help")
        await tg_server.wait_for(
            lambda: all(tg_server.sent_to(user) for user in users),
            timeout=20,
            message="not every chat answered",
        )
    finally:
        await bot.stop()
    # Twelve chats answered two at a time: in parallel, but never more than the setting allows (the HTTP
    # pool itself would allow six).
    assert tg_server.peak_in_flight == 2
