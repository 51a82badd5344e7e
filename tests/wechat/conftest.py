"""Fixtures for the WeChat tests: the fake WeChat API server and our bot against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.clock import FakeClock
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.wxbot import WxBot, settings_for


@pytest.fixture
async def wx_server(clock: FakeClock) -> AsyncIterator[FakeWeChatServer]:
    """The fake WeChat APIs on 127.0.0.1, on the test's clock."""
    async with FakeWeChatServer(now=clock.now) as server:
        yield server


@pytest.fixture
async def wxbot(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[WxBot]:
    """Our bot with an Official Account, a WeCom app and a robot, on a fresh database."""
    bot = WxBot(wx_server, settings_for(wx_server, db_url, tmp_path / "media"), clock)
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture
async def wxlite(wx_server: FakeWeChatServer, tmp_path: Path, clock: FakeClock) -> AsyncIterator[WxBot]:
    """The same bot on SQLite only: for tests of the HTTP layer, where the database backend doesn't matter."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'wx.db'}"
    bot = WxBot(wx_server, settings_for(wx_server, url, tmp_path / "media"), clock)
    await bot.start()
    yield bot
    await bot.stop()
