"""Delivery to WeChat: the 48-hour window, template fallback, quotas, menus, photos, tokens, cards, robot."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import build_app
from bot.wechat.channel import WeChatChannel
from bot.wechat.client import TOKEN_ERRORS
from bot.wechat.templates import DEFAULT_FIELDS, field_limit, template_data, warnings
from bot.wechat.text import chunks
from dispatch.clock import FakeClock
from handlers.messages import Choice, Outbound
from handlers.outbox import write_outbox
from storage.models import OutboxMessage, WeChatToken
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.media import jpeg
from tests.support.wechat_journeys import EN, RESIDENT, ZH, file_direct, file_request, offer_card
from tests.support.wxbot import TEMPLATE_ID, WxBot, settings_for

OTHER = "oWXk40KzC3f8K3bpPq9z-MaV0t0E"
BOSS = "chenzhuguan"


async def send(bot: WxBot, channel: str, chat_id: str, text: str, **kwargs: object) -> int:
    """Queue one outbound message as a handler would; the outbox row's id."""
    assert bot.app is not None
    message = Outbound(channel, chat_id, text, **kwargs)  # type: ignore[arg-type]
    # The newest row of this chat, read in the same transaction: the running sender writes rows of its own
    # (a supervisor told of a failure), so the newest row of the whole outbox may be one of those.
    async with bot.app.db.transaction() as session:
        await write_outbox(session, [message], bot.clock.now())
        newest = select(func.max(OutboxMessage.id)).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id
        )
        row_id = (await session.execute(newest)).scalar_one()
    bot.app.sender.wake()
    return int(row_id)


async def row(bot: WxBot, row_id: int) -> OutboxMessage:
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        found = await session.get(OutboxMessage, row_id, populate_existing=True)
        assert found is not None
        return found


async def settled(bot: WxBot, row_id: int, status: str = "sent") -> OutboxMessage:
    """Wait until an outbox row reaches `status`."""
    for _ in range(400):
        current = await row(bot, row_id)
        if current.status == status:
            return current
        await asyncio.sleep(0.01)
    raise AssertionError(f"outbox row {row_id} is {current.status} ({current.error}), not {status}")


async def resident(bot: WxBot, user: str = RESIDENT) -> None:
    """A follower who has written to the account (so we know them and their 48 hours are open)."""
    await bot.event(user, "subscribe")
    await bot.say(user, "/help")


async def test_inside_the_window_customer_service_outside_a_template(wxbot: WxBot) -> None:
    bot = wxbot
    await resident(bot)
    inside = await settled(
        bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0042 已派单\n师傅很快联系您")
    )
    assert inside.channel_message_id is not None and inside.channel_message_id.startswith("cs:")
    bot.clock.advance(timedelta(hours=47, minutes=50))
    still = await settled(bot, await send(bot, "wechat", RESIDENT, "还在窗口内"))
    assert still.channel_message_id.startswith("cs:")  # type: ignore[union-attr]
    bot.clock.advance(timedelta(minutes=20))  # now past 48 hours since they last wrote
    outside = await settled(
        bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0042 已完成\n请确认是否修好")
    )
    assert outside.channel_message_id is not None and outside.channel_message_id.startswith("tpl:")
    template = bot.server.sent_to(RESIDENT)[-1]
    assert template.kind == "template" and template.body["template_id"] == TEMPLATE_ID
    data = template.body["data"]
    # The 2023 layout: no first or remark, one line per field, within its limit.
    assert set(data) == {"character_string1", "phrase2", "thing3", "time4"}
    assert data["character_string1"]["value"] == "BX-20261123-0042"
    assert data["phrase2"]["value"] == ZH("News") and len(ZH("News")) <= 5
    assert data["thing3"]["value"] == "已完成"
    assert data["time4"]["value"] == bot.clock.now().astimezone(bot.app.site.default.timezone).strftime(  # type: ignore[union-attr]
        "%Y-%m-%d %H:%M"
    )
    # A tap's short answer is not worth a template message.
    answer = await settled(bot, await send(bot, "wechat", RESIDENT, "✅", callback_id="wx:1"))
    assert answer.channel_message_id is None
    assert bot.server.sent_to(RESIDENT)[-1] is template


async def test_wechat_says_out_of_window_so_a_template_goes(wxlite: WxBot) -> None:
    await resident(wxlite)
    wxlite.server.fail("message/custom/send", 45015)
    done = await settled(wxlite, await send(wxlite, "wechat", RESIDENT, "BX-20261123-0007 师傅已出发"))
    assert done.channel_message_id.startswith("tpl:")  # type: ignore[union-attr]


async def test_wechat_saying_45047_sends_a_template_at_once_and_stops_spending(wxbot: WxBot) -> None:
    bot = wxbot
    await resident(bot)
    await resident(bot, OTHER)
    bot.server.exhaust(RESIDENT)  # another tool spent the allowance: WeChat answers 45047
    calls = len(bot.server.calls("oa:message/custom/send"))
    notice = await settled(bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0042 师傅已出发"))
    assert notice.channel_message_id.startswith("tpl:") and notice.attempts == 1  # type: ignore[union-attr]
    assert bot.server.refused[RESIDENT] == 1 and bot.server.sent_to(RESIDENT)[-1].kind == "template"
    # The ledger knows now: the next notice goes as a template without trying WeChat's quota again.
    again = await settled(bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0042 师傅已到达"))
    assert again.channel_message_id.startswith("tpl:")  # type: ignore[union-attr]
    assert bot.server.refused[RESIDENT] == 1
    assert len(bot.server.calls("oa:message/custom/send")) == calls + 1
    # Another resident's allowance is their own.
    other = await settled(bot, await send(bot, "wechat", OTHER, "给另一位业主"))
    assert other.channel_message_id.startswith("cs:")  # type: ignore[union-attr]


async def test_an_unreachable_resident_fails_and_the_supervisor_is_told(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom="wangwu")
    await bot.add_staff("陈主管", "supervisor", wecom=BOSS)
    number = await file_request(bot)
    await offer_card(bot, "wangwu", number)
    bot.clock.advance(timedelta(hours=50))
    bot.server.unfollowed.add(RESIDENT)  # they unfollowed the account: template messages answer 43004
    row_id = await send(bot, "wechat", RESIDENT, f"{number} 师傅明天上午上门", important=True)
    failed = await settled(bot, row_id, "failed")
    assert "43004" in failed.error
    told = await bot.server.wait_for_message(BOSS, number)
    assert told.app == "work"


async def test_without_a_template_id_a_late_notice_fails_permanently(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    bot = WxBot(wx_server, settings_for(wx_server, db_url, tmp_path / "media", wechat_template_id=""), clock)
    await bot.start()
    try:
        await resident(bot)
        bot.clock.advance(timedelta(hours=49))
        failed = await settled(bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0001 已完成"), "failed")
        assert "WECHAT_TEMPLATE_ID" in failed.error and failed.attempts == 1
    finally:
        await bot.stop()


async def test_a_question_asked_by_template_comes_back_with_its_menu(wxlite: WxBot) -> None:
    bot = wxlite
    await resident(bot)
    bot.clock.advance(timedelta(hours=49))
    choices = [[Choice("c:zz:0", "好的"), Choice("c:zz:1", "不用了")]]
    late = await settled(
        bot, await send(bot, "wechat", RESIDENT, "BX-20261123-0001 需要您确认", choices=choices)
    )
    assert late.channel_message_id.startswith("tpl:")  # type: ignore[union-attr]
    seen = len(bot.server.sent_to(RESIDENT))
    await bot.oa.text(RESIDENT, "在吗")
    await bot.server.wait_for(
        lambda: any(s.labels == ["好的", "不用了"] for s in bot.server.sent_to(RESIDENT)[seen:]),
        message="the question again, with its menu",
    )


async def test_without_menu_messages_choices_are_numbered_and_numbers_pick_them(wxlite: WxBot) -> None:
    bot = wxlite
    bot.server.menu_unavailable = True  # 48001: this account may not send 菜单消息
    greeting = await bot.event(RESIDENT, "subscribe", expect="1. ")
    # The menu: repair, a matter (报事), my requests, help.
    assert greeting.kind == "text" and f"4. {ZH('❓ Help')}" in greeting.shown
    assert ZH("Reply with the number of your choice.") in greeting.shown
    helped = await bot.say(RESIDENT, "4", expect="/repair")
    assert ZH("Property office: {phone}", phone="")[:4] in helped.shown
    await bot.event(RESIDENT, "CLICK", "repair", expect=ZH("Where is the problem?"))
    asked = await bot.say(RESIDENT, "2")  # 2 = public area
    assert (
        ZH(
            "Where exactly? Type a short description (for example “Building 2, east entrance”) "
            "or send a location pin."
        )
        in asked.shown
    )
    # A typed label picks too, and a number beyond the list is just text.
    assert all(s.kind != "msgmenu" for s in bot.server.sent_to(RESIDENT))


async def test_a_stale_menu_line_is_recognised(wxlite: WxBot) -> None:
    bot = wxlite
    await bot.event(RESIDENT, "CLICK", "repair", expect=ZH("Where is the problem?"))
    first = bot.newest_menu(RESIDENT, ZH("My home (building, unit, room)"))
    await bot.tap(RESIDENT, ZH("My home (building, unit, room)"), expect=ZH("Which building?"))
    seen = len(bot.server.sent_to(RESIDENT))
    await bot.oa.tap(RESIDENT, first, ZH("Public area (lobby, lift, garage, garden…)"))
    stale = await bot.server.wait_for_message(RESIDENT, after=seen)
    assert (
        ZH("That button is from an earlier step.") in stale.shown
        or ZH("That button belongs to an earlier step. Here is where we are now:") in stale.shown
    )


async def test_photos_go_as_uploaded_media_with_the_stored_bytes(wxlite: WxBot) -> None:
    bot = wxlite
    await resident(bot)
    assert bot.app is not None
    stored = bot.app.services.media.put_image(jpeg(200, 100, (10, 20, 30)))
    done = await settled(bot, await send(bot, "wechat", RESIDENT, "完工照片", photos=[stored.sha256]))
    assert done.channel_message_id.startswith("cs:")  # type: ignore[union-attr]
    image, text = bot.server.sent_to(RESIDENT)[-2:]
    assert (image.kind, image.media, text.shown) == ("image", stored.path.read_bytes(), "完工照片")
    assert ("oa", stored.path.read_bytes()) in bot.server.uploads


async def test_the_access_token_is_shared_refreshed_before_expiry_and_replaced_once(
    wxbot: WxBot, wx_server: FakeWeChatServer
) -> None:
    bot = wxbot
    await resident(bot)
    assert wx_server.token_fetches["oa"] == 1
    # A second worker on the same database uses the same token.
    assert bot.app is not None
    second = build_app(bot.settings, clock=bot.clock)
    other = WeChatChannel.of(second)
    assert other.oa_api is not None
    token = await other.oa_api.tokens.get()
    assert wx_server.token_fetches["oa"] == 1 and token in wx_server.tokens
    # Shortly before it expires, the next call takes a new one (once, for both workers).
    bot.clock.advance(timedelta(seconds=7200 - 200))
    await settled(bot, await send(bot, "wechat", RESIDENT, "一"))
    assert wx_server.token_fetches["oa"] == 2
    assert await other.oa_api.tokens.get() != token
    assert wx_server.token_fetches["oa"] == 2
    # WeChat says the token expired (42001): refresh once and retry, the message goes.
    wx_server.user_active(RESIDENT)
    wx_server.expire_tokens()
    assert (await settled(bot, await send(bot, "wechat", RESIDENT, "二"))).status == "sent"
    assert wx_server.token_fetches["oa"] == 3
    # A token WeChat keeps rejecting is refreshed once per attempt, never in a loop.
    wx_server.fail("message/custom/send", 40001, times=2)
    held = await send(bot, "wechat", RESIDENT, "三")
    for _ in range(200):
        if (await row(bot, held)).attempts:
            break
        await asyncio.sleep(0.01)
    assert wx_server.token_fetches["oa"] == 4 and "40001" in (await row(bot, held)).error
    async with bot.app.db.transaction() as session:
        rows = (await session.execute(select(WeChatToken))).scalars().all()
    assert {r.app for r in rows} == {f"oa:{wx_server.app_id}"}
    assert 40001 in TOKEN_ERRORS and 42001 in TOKEN_ERRORS
    await other.close()
    await second.close()


async def test_a_wecom_card_whose_code_was_used_is_sent_again_in_place(wxlite: WxBot) -> None:
    bot = wxlite
    await bot.add_staff("Wang", wecom="wangwu")
    choices = [[Choice("o:tok:a", "✋ Accept"), Choice("o:tok:d", "Not for me")]]
    first = await settled(
        bot, await send(bot, "wecom", "wangwu", "🔧 New job\nBuilding 1", choices=choices, ref="offer:1")
    )
    assert first.channel_message_id.startswith("card:")  # type: ignore[union-attr]
    card = bot.server.sent_to("wangwu")[-1]
    edited = await settled(bot, await send(bot, "wecom", "wangwu", "Taken by Li", edit_ref="offer:1"))
    assert edited.channel_message_id == first.channel_message_id
    assert card.shown == "Taken by Li" and card.updates[-1]["replace_text"] == EN("Handled")
    # The code is spent: the next edit of the same card arrives as a fresh copy of it.
    again = await settled(
        bot, await send(bot, "wecom", "wangwu", "Back on offer", choices=choices, edit_ref="offer:1")
    )
    assert again.channel_message_id == first.channel_message_id
    copy = bot.server.sent_to("wangwu")[-1]
    assert copy is not card and copy.kind == "template_card" and copy.labels == ["✋ Accept", "Not for me"]


async def test_escalations_reach_the_supervisors_robot(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom="wangwu")
    await resident(bot)
    number = await file_direct(bot, "厨房漏水")
    await offer_card(bot, "wangwu", number)
    await bot.tick(6)  # nobody grabbed within the window
    await bot.server.wait_for(lambda: bool(bot.server.sent_to("robot")), message="the robot's ping")
    ping = bot.server.sent_to("robot")[-1]
    assert number in ping.shown and "Wang" in ping.shown
    assert "13812345678" not in ping.shown and "1203" not in ping.shown  # a group: no phone, no room


def test_chunks_and_template_limits() -> None:
    assert chunks("a\nb", 3) == ["a\nb"]
    assert chunks("x" * 7, 3) == ["xxx", "xxx", "x"]
    assert all(len(c.encode()) <= 2000 for c in chunks("长" * 5000))
    assert "".join(chunks("长" * 5000)) == "长" * 5000
    data = template_data(
        "thing1=title,character_string2=number,time3=time,remark=物业服务中心", "维修进度" * 10, "", "t"
    )
    assert len(data["thing1"]["value"]) == 20 and data["character_string2"]["value"] == "—"
    long = "✅ BX-20261123-0042 维修已完成，师傅已离开现场，请您检查水龙头是否还漏水\n第二行"
    new = template_data(DEFAULT_FIELDS, long, "hint", "2026-11-23 10:00", "待回复", "，回复即可作答")
    assert new["thing3"]["value"].endswith("，回复即可作答") and len(new["thing3"]["value"]) == 20
    assert new["thing3"]["value"].startswith("维修已完成")
    assert all("\n" not in v["value"] and len(v["value"]) <= field_limit(k) for k, v in new.items())
    assert warnings(DEFAULT_FIELDS) == []
    assert data["remark"]["value"] == "物业服务中心"
