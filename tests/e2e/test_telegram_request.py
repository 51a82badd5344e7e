"""The bot's Bot API calls over aiohttp (bot/telegram/request.py), against the fake Bot API server: how each
way a call can end reaches the outbox, uploads and downloads, and the proxy settings of the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.outbox.channel import DeliveryError
from bot.telegram.outbound import TelegramDelivery
from bot.telegram.request import AiohttpRequest
from handlers.messages import Outbound
from storage.media import MediaStore
from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "123456:TEST-TOKEN"
# A tiny valid PNG (1x1), so the fake server can read its size as Telegram would.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def bot_for(server: FakeTelegramServer, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=server.base_url, base_file_url=server.file_base_url, request=request)


async def test_a_send_answered_too_late_is_in_doubt_and_not_sent_again(tmp_path: Path) -> None:
    """Telegram acted on it but its answer came after our timeout: the outbox must not send a second copy."""
    async with FakeTelegramServer() as server, bot_for(server, AiohttpRequest(2, read_timeout=0.2)) as bot:
        delivery = TelegramDelivery(bot, MediaStore(tmp_path), timeout=0.2)
        server.answer_delay = 0.6
        with pytest.raises(DeliveryError) as failed:
            await delivery.deliver(Outbound("telegram", "5", "did it arrive?"), None)
        assert failed.value.in_doubt and not failed.value.outage
        assert [m.content for m in server.sent_to(5)] == ["did it arrive?"]
        # An edit answered too late is harmless to repeat: a timeout, not in doubt.
        first = str(server.sent_to(5)[0].message_id)
        with pytest.raises(DeliveryError) as edit:
            await delivery.deliver(Outbound("telegram", "5", "changed", edit_ref="x"), first)
        assert edit.value.outage and not edit.value.in_doubt


async def test_a_refused_connection_is_an_outage_to_retry(tmp_path: Path) -> None:
    server = FakeTelegramServer()
    await server.start()
    async with bot_for(server, AiohttpRequest(2, connect_timeout=1.0)) as bot:
        delivery = TelegramDelivery(bot, MediaStore(tmp_path), timeout=1.0)
        await server.stop()
        with pytest.raises(DeliveryError) as failed:
            await delivery.deliver(Outbound("telegram", "6", "anyone there?"), None)
        assert failed.value.outage and not failed.value.in_doubt and not failed.value.permanent
        await server.start()  # the same port: the retry goes through
        try:
            assert await delivery.deliver(Outbound("telegram", "6", "anyone there?"), None)
            assert [m.content for m in server.sent_to(6)] == ["anyone there?"]
        finally:
            await server.stop()


async def test_telegrams_refusal_is_its_own_error_not_a_network_one() -> None:
    """An HTTP error answer (here a 400) comes back as Telegram's error, as with PTB's own httpx request."""
    async with FakeTelegramServer() as server, bot_for(server, AiohttpRequest(1)) as bot:
        server.fail_next("sendMessage", 1, error_code=400)
        with pytest.raises(BadRequest):
            await bot.send_message(7, "x")
        assert (await bot.send_message(7, "y")).text == "y"


async def test_photos_go_up_as_multipart_and_files_come_down() -> None:
    async with FakeTelegramServer() as server, bot_for(server, AiohttpRequest(2)) as bot:
        sent = await bot.send_photo(8, PNG, caption="看这里 / the leak")
        assert sent.caption == "看这里 / the leak"
        (photo,) = server.sent_to(8)
        assert photo.content == "看这里 / the leak"
        file = await bot.get_file(sent.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == PNG


async def test_calls_beyond_the_pool_wait_for_a_connection() -> None:
    """Four calls on one connection while Telegram is slow: they take turns, none fails."""
    async with (
        FakeTelegramServer(latency=0.1) as server,
        bot_for(server, AiohttpRequest(1, pool_timeout=5.0)) as bot,
    ):
        sent = await asyncio.gather(*(bot.send_message(9, f"#{i}") for i in range(4)))
        assert sorted(m.text or "" for m in sent) == ["#0", "#1", "#2", "#3"]
        assert server.peak_in_flight == 1


def test_the_environments_proxy_is_used_except_where_no_proxy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert AiohttpRequest()._proxy("https://api.telegram.org/bot1:x/getMe") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    assert request._proxy("https://api.telegram.org/bot1:x/getMe") == "http://proxy.example:3128"
    assert request._proxy("https://127.0.0.1:8081/bot1:x/getMe") is None  # a local Bot API server
    assert request._proxy("http://api.telegram.org/bot1:x/getMe") is None  # no HTTP_PROXY set
