"""Delivery through real python-telegram-bot against a misbehaving fake Bot API server in rate_limit mode:
429s with retry_after, 500s, slow answers that come after the bot's timeout (the message was delivered all
the same) and a stretch of refused connections (the server stopped and started again on the same port).
Everything arrives afterwards, exactly once, in order per chat, without one flood violation."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import select
from telegram import Bot

from bot.app import build_app
from bot.settings import Settings
from bot.telegram.outbound import TelegramDelivery
from bot.telegram.rates import telegram_limits
from bot.telegram.request import AiohttpRequest
from handlers.messages import Outbound
from handlers.outbox import write_outbox
from storage.models import OutboxMessage
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.tgbot import settings_for

PRIVATE = [9100 + i for i in range(6)]
GROUP = -1009100
PER_PRIVATE = 7
PER_GROUP = 4


def production_limits() -> dict[str, object]:
    """The shipped defaults (settings_for turns them off for the ordinary end-to-end tests)."""
    names = (
        "telegram_rate_overall",
        "telegram_rate_chat",
        "telegram_rate_chat_burst",
        "telegram_rate_group_per_minute",
    )
    return {name: Settings.model_fields[name].default for name in names}


async def test_everything_arrives_in_order_within_the_limits(db_url: str, tmp_path: Path) -> None:
    server = FakeTelegramServer(rate_limit=True)
    await server.start()
    settings = settings_for(server, db_url, tmp_path / "media", **production_limits())
    app = build_app(settings)
    await app.start()
    # Short timeouts, so a slow server is a timeout within the test's time.
    request = AiohttpRequest(32, read_timeout=1.0, write_timeout=1.0, connect_timeout=1.0)
    bot = Bot(
        "123456:TEST-TOKEN", base_url=server.base_url, base_file_url=server.file_base_url, request=request
    )
    await bot.initialize()
    app.channels["telegram"] = TelegramDelivery(bot, app.services.media, timeout=1.0)
    app.sender.limits["telegram"] = telegram_limits(settings)
    expected: dict[int, list[str]] = {chat: [f"{chat} #{i}" for i in range(PER_PRIVATE)] for chat in PRIVATE}
    expected[GROUP] = [f"group #{i}" for i in range(PER_GROUP)]
    async with app.db.transaction() as session:
        rows = [
            Outbound("telegram", str(chat), text)
            for i in range(PER_PRIVATE)
            for chat, texts in expected.items()
            if i < len(texts)
            for text in [texts[i]]
        ]
        await write_outbox(session, rows, app.services.clock.now())
    server.fail_next("sendMessage", 2, error_code=429, retry_after=1)
    server.fail_next("sendMessage", 3, error_code=500)
    sender = asyncio.create_task(app.sender.run_forever(0.05))
    try:
        await server.wait_for(lambda: len(server.calls("sendMessage")) >= 12, timeout=20)
        server.answer_delay = 1.5  # every call acts, then answers after our timeout
        await asyncio.sleep(3.0)
        server.answer_delay = 0.0
        await server.stop()  # connection refused
        await asyncio.sleep(3.0)
        await server.start()  # same port
        app.sender.wake()

        async def all_sent() -> bool:
            async with app.db.transaction() as s:
                statuses = (await s.execute(select(OutboxMessage.status))).scalars().all()
            return all(status in ("sent", "in_doubt") for status in statuses)

        for _ in range(600):
            if await all_sent():
                break
            await asyncio.sleep(0.1)
        assert await all_sent(), "not everything was delivered"
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        async with app.db.transaction() as s:
            statuses = (await s.execute(select(OutboxMessage.status))).scalars().all()
        await bot.shutdown()
        await app.close()
        await server.stop()
    for chat, texts in expected.items():
        got = [m.content for m in server.sent_to(chat)]
        # A send that timed out after Telegram acted on it is not sent again: no copy, nothing lost.
        assert got == texts, (chat, got)
    assert "in_doubt" in statuses, "no send timed out: the test proves nothing"
    assert server.rate_limit_violations == 0
    failures = [n for n, _ in server.requests if n == "sendMessage"]
    assert len(failures) > sum(len(t) for t in expected.values())  # faults really happened
