"""One ticket across apps: a resident on WeChat, technicians on WeCom and on Telegram, one bot process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels import cancel
from dispatch.clock import FakeClock
from storage.models import Offer, Person, Ticket, TicketEvent
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.tgbot import TgBot
from tests.support.tgbot import settings_for as telegram_settings
from tests.support.wechat_journeys import EN, RESIDENT, file_direct, file_request, offer_card, ticket
from tests.support.wxbot import WxBot, quiesce, wechat_settings

WANG, LI, ZHAO_WECOM, ZHAO_TG = "wangwu", 8101, "zhaoliu", 8102


@pytest.fixture
async def both(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[TgBot, WxBot]]:
    """One bot process with Telegram (polling the fake Bot API) and WeChat (callbacks), one database."""
    async with FakeTelegramServer() as tg_server:
        settings = telegram_settings(tg_server, db_url, tmp_path / "media", **wechat_settings(wx_server))
        tg = TgBot(tg_server, settings, clock)
        app = await tg.start()
        wx = WxBot(wx_server, settings, clock)
        await wx.start(app=app)
        yield tg, wx
        await wx.stop()
        await quiesce(app)
        if tg.runner is not None and tg.runner._sender_task is not None:
            await cancel(tg.runner._sender_task)  # see bot.wechat.channel.cancel (Python 3.11's wait_for)
        await tg.stop()


async def taken_events(wx: WxBot, number: str) -> list[TicketEvent]:
    """The ticket's "taken" events (exactly one per grab)."""
    assert wx.app is not None
    async with wx.app.db.transaction() as session:
        tk = (await session.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == tk.id, TicketEvent.kind == "taken")
        return list((await session.execute(stmt)).scalars())


async def test_a_wecom_card_grab_wins_and_the_telegram_tap_on_the_same_offer_loses(
    both: tuple[TgBot, WxBot],
) -> None:
    tg, wx = both
    await wx.add_staff("Wang", wecom=WANG)
    await wx.add_staff("Li", telegram=str(LI))
    number = await file_request(wx)  # the resident files through the Official Account
    card = await offer_card(wx, WANG, number)
    tg_offer = await tg.server.wait_for_message(LI, contains=f"New job {number}")
    assert card.labels == [EN("✋ Accept"), EN("Not for me")] and "Accept" in " ".join(tg_offer.button_texts)

    accept = tg_offer.callback_data_for("Accept")  # Li's phone still shows the button when he taps
    resident_seen = len(wx.server.sent_to(RESIDENT))
    await wx.click(WANG, card, EN("✋ Accept"))
    await wx.server.wait_for_message(RESIDENT, "Wang", after=resident_seen)
    answers = len(tg.server.callback_answers)
    tg.server.push_callback(LI, tg_offer.message_id, accept)
    await tg.server.wait_for(lambda: len(tg.server.callback_answers) > answers)
    assert tg.server.callback_answers[-1]["text"] == EN("Already taken by {holder}.", holder="Wang")
    # Every other copy says who took it: Li's Telegram message is edited, Wang's card updated.
    await tg.server.wait_for(lambda: "taken by Wang" in tg_offer.content)
    await wx.server.wait_for(lambda: bool(card.updates))
    assert EN("✅ You took {number}. The details are in your private chat.", number=number) in card.shown
    assert not tg_offer.reply_markup or not tg_offer.reply_markup.get("inline_keyboard")
    assert len(await taken_events(wx, number)) == 1
    taken = await ticket(wx, number)
    assert wx.app is not None
    async with wx.app.db.transaction() as session:
        assert (await session.get(Person, taken.technician_id)).name == "Wang"  # type: ignore[union-attr]
        offers = (await session.execute(select(Offer).where(Offer.ticket_id == taken.id))).scalars()
        assert sorted((o.channel, o.status) for o in offers) == [("telegram", "lost"), ("wecom", "taken")]
    # The winner's details (phone, room, the resident's photo) reach WeCom, never Li.
    await wx.server.wait_for_message(WANG, "13812345678")
    assert not any("13812345678" in m.content for m in tg.server.sent_to(LI))


async def test_simultaneous_taps_on_both_apps_have_exactly_one_winner(both: tuple[TgBot, WxBot]) -> None:
    tg, wx = both
    await wx.add_staff("Wang", wecom=WANG)
    await wx.add_staff("Li", telegram=str(LI))
    for trial in range(3):
        await race(tg, wx, await file_direct(wx, f"厨房漏水 {trial}"))
        wx.clock.advance(timedelta(minutes=1))


async def race(tg: TgBot, wx: WxBot, number: str) -> None:
    """Li taps Accept on Telegram while Wang taps the card on WeCom; exactly one wins, the other is told."""
    card = await offer_card(wx, WANG, number)
    tg_offer = await tg.server.wait_for_message(LI, contains=f"New job {number}")
    answers = len(tg.server.callback_answers)
    tg.server.push_callback(LI, tg_offer.message_id, tg_offer.callback_data_for("Accept"))
    await wx.click(WANG, card, EN("✋ Accept"))
    await tg.server.wait_for(lambda: len(tg.server.callback_answers) > answers, timeout=10)
    await wx.server.wait_for(lambda: bool(card.updates), timeout=10)
    assert len(await taken_events(wx, number)) == 1
    winner = (await ticket(wx, number)).technician_id
    assert wx.app is not None
    async with wx.app.db.transaction() as session:
        name = (await session.get(Person, winner)).name  # type: ignore[union-attr]
    li_was_told = tg.server.callback_answers[-1]["text"]
    if name == "Wang":
        assert li_was_told == EN("Already taken by {holder}.", holder="Wang")
    else:
        assert li_was_told.startswith("✅")
        await wx.server.wait_for(lambda: "taken by Li" in card.shown)


async def test_a_person_on_both_apps_gets_each_notice_once_on_the_app_used_last(
    both: tuple[TgBot, WxBot],
) -> None:
    tg, wx = both
    await wx.add_staff("Zhao", wecom=ZHAO_WECOM, telegram=str(ZHAO_TG))
    wx.clock.advance(timedelta(minutes=1))
    await wx.work_say(ZHAO_WECOM, "/onduty", expect="on duty")  # WeCom is the app used last
    first = await file_direct(wx, "卫生间漏水")
    await offer_card(wx, ZHAO_WECOM, first)
    wx.clock.advance(timedelta(minutes=1))
    await tg.say(ZHAO_TG, "/onduty", expect="on duty")  # now Telegram is
    second = await file_direct(wx, "阳台漏水")
    await tg.server.wait_for_message(ZHAO_TG, contains=f"New job {second}")
    await wx.tick(0)
    await asyncio.sleep(0.3)
    assert not any(first in m.content for m in tg.server.sent_to(ZHAO_TG))
    assert not any(second in s.shown for s in wx.server.sent_to(ZHAO_WECOM))
    assert sum(first in s.shown for s in wx.server.sent_to(ZHAO_WECOM) if s.kind == "template_card") == 1
    assert sum(f"New job {second}" in m.content for m in tg.server.sent_to(ZHAO_TG)) == 1
