"""WeCom's per-member limits (30 a minute, 1,000 an hour; the rest dropped without an error): a busy
technician's offers are paced, across workers, without holding up anyone else. Time is a fake wall clock
shared by the sender and the fake server, so the test takes no minutes of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.outbox.ratelimit import advance, allowed_at
from bot.wechat.pacing import wecom_limits
from dispatch.clock import FakeClock
from handlers.messages import Choice, Outbound
from handlers.outbox import write_outbox
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.wxbot import WxBot, settings_for

TECH, OTHER = "wangwu", "lisi"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeWall:
    """The wall clock of the sender's leases and limits; sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(0.0, seconds))
        await asyncio.sleep(0)


def test_one_rate_keeps_both_limits() -> None:
    rate = wecom_limits().private
    assert rate is not None
    stamp, sent = None, []
    at = START
    for _ in range(1100):  # as fast as the rate allows
        at = allowed_at(stamp, rate, 1, at)
        stamp = advance(stamp, rate, 1, at)
        sent.append(at)
    most_a_minute = max(sum(1 for t in sent if s <= t < s + timedelta(minutes=1)) for s in sent)
    most_an_hour = max(sum(1 for t in sent if s <= t < s + timedelta(hours=1)) for s in sent[:120])
    assert most_a_minute <= 30 and most_an_hour <= 1000


@pytest.fixture
async def paced(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[WxBot]:
    """The WeChat bot with WeCom's per-member pacing at its defaults (30 a minute, 1,000 an hour)."""
    settings = settings_for(wx_server, db_url, tmp_path / "media", wecom_member_per_minute=30)
    bot = WxBot(wx_server, settings, clock)
    await bot.start()
    yield bot
    await bot.stop()


async def test_forty_offers_in_a_minute_all_reach_the_technician_paced(paced: WxBot) -> None:
    bot = paced
    assert bot.app is not None
    wall = FakeWall()
    bot.server.wall = wall
    bot.app.sender.use_wall(wall, wall.sleep)
    await bot.add_staff("Wang", wecom=TECH)
    await bot.add_staff("Li", wecom=OTHER)
    offers = [
        Outbound("wecom", TECH, f"🔧 New job BX-20261123-{n:04d}", choices=[[Choice(f"g:{n}", "✋ Accept")]])
        for n in range(1, 41)
    ]
    async with bot.app.db.transaction() as session:
        await write_outbox(session, offers, bot.clock.now())
        await write_outbox(session, [Outbound("wecom", OTHER, "李师傅，明天的排班已更新")], bot.clock.now())
    bot.app.sender.wake()
    other = await bot.server.wait_for_message(OTHER, "排班")
    # Li waits for nobody's queue: his message goes out while Wang's offers are still being paced (in the
    # order the fake received them, not by the fake wall, which every paced lane moves on).
    before_li = bot.server.sent[: bot.server.sent.index(other)]
    assert len([s for s in before_li if s.to == TECH and s.kind == "template_card"]) < 40
    await bot.server.wait_for(
        lambda: len([s for s in bot.server.sent_to(TECH) if s.kind == "template_card"]) == 40,
        timeout=30,
        message="all 40 offers",
    )
    assert bot.server.dropped[TECH] == 0 and bot.server.dropped[OTHER] == 0
    assert bot.server.member_peak(TECH, timedelta(minutes=1)) <= 30
    assert wall.now - START >= timedelta(seconds=90)  # paced: 40 at 30 a minute take more than a minute
