"""End to end over WeChat: a resident on the Official Account, a technician in the WeCom app, one ticket."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.channels import WeChatRunner
from dispatch.clock import FakeClock
from handlers.labels import STATUS_NAMES
from storage.models import OutboxMessage
from tests.fakes.wechat_push import OAPusher, WorkPusher
from tests.fakes.wechat_server import FakeWeChatServer, Sent
from tests.support.media import jpeg
from tests.support.wechat_journeys import (
    EN,
    PHOTO,
    RESIDENT,
    ZH,
    card_tap,
    file_request,
    offer_card,
    question_waiting,
    tech_choose,
    ticket,
    tickets,
)
from tests.support.wxbot import OA_TOKEN, WORK_AES_KEY, WORK_TOKEN, WxBot, quiesce, settings_for

TECH = "wangwu"


async def stored_photo(bot: WxBot, number: str) -> bytes:
    """The resident's photo as the media store keeps it (cleaned, re-encoded)."""
    assert bot.app is not None
    from storage.repositories import Tickets

    async with bot.app.db.transaction() as session:
        found = await Tickets(session).by_number(number)
        assert found is not None
        photos = await Tickets(session).photos(found.id)
    assert len(photos) == 1
    return bot.app.services.media.read(photos[0].sha256)


async def offered(bot: WxBot, user: str, label: str, after: int = 0) -> Sent:
    """The first message after `after` that offers `label`."""

    def found() -> Sent | None:
        return next((m for m in bot.server.sent_to(user)[after:] if any(label in t for t in m.labels)), None)

    await bot.server.wait_for(lambda: found() is not None, message=f"{label!r} offered to {user}")
    result = found()
    assert result is not None
    return result


async def outbox_ids(bot: WxBot, channel: str) -> list[str]:
    """What each delivered row to a channel records: cs:..., tpl:..., card:..., msg:..."""
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.channel == channel, OutboxMessage.status == "sent")
            )
        ).scalars()
        return [r.channel_message_id or "" for r in rows if r.kind != "answer"]


async def test_resident_files_follows_confirms_and_rates_on_wechat(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom=TECH)
    greeting = await bot.event(RESIDENT, "subscribe")
    assert ZH("🔧 Report a repair") in greeting.labels and greeting.kind == "msgmenu"
    number = await file_request(bot)
    assert number.startswith("BX-")
    # The photo came through the media API into the media store.
    assert bot.server.calls("oa:media/get")
    stored = await stored_photo(bot, number)

    # The technician grabs it in the WeCom app: a template card with Accept.
    card = await offer_card(bot, TECH, number)
    assert "13812345678" not in card.shown and "1203" not in card.shown  # no phone or room in offers
    resident_seen = len(bot.server.sent_to(RESIDENT))
    await bot.click(TECH, card, EN("✋ Accept"))
    told = await bot.server.wait_for_message(RESIDENT, "Wang", after=resident_seen)
    assert number in told.shown and ZH("The technician is here") in told.labels
    await bot.server.wait_for(lambda: bool(card.updates), message="the offer card updated")
    assert EN("✅ You took {number}. The details are in your private chat.", number=number) in card.shown
    assert card.updates[-1].get("replace_text") and not card.updates[-1].get("button_list")
    details = await bot.server.wait_for_message(TECH, "13812345678")
    assert "1203" in details.shown
    # The resident's photo travelled as bytes from the media store, uploaded to WeCom.
    await bot.server.wait_for(lambda: any(s.kind == "image" for s in bot.server.sent_to(TECH)))
    assert [s.media for s in bot.server.sent_to(TECH) if s.kind == "image"] == [stored]
    assert ("work", stored) in bot.server.uploads

    # "Where is my repair": the menu's 我的报修.
    mine = await bot.event(RESIDENT, "CLICK", "mytickets", expect=number)
    listed = next(line for line in mine.shown.splitlines() if number in line)
    assert ZH(STATUS_NAMES["assigned"]) in listed

    # The job card steps, as card taps and typed text in the WeCom app.
    code = (await ticket(bot, number)).arrival_code
    await card_tap(bot, TECH, number, EN("📍 Arrived"), expect="verification code")
    await bot.work_say(TECH, code, expect=EN("Arrival at {number} recorded.", number=number))
    await card_tap(bot, TECH, number, EN("✅ Complete"), expect="photos of the finished work")
    after = len(bot.server.sent_to(TECH))
    await bot.work.image(TECH, jpeg(320, 240, (0, 200, 0)))
    await bot.server.wait_for_message(TECH, "Sent so far: 1", after=after)
    await tech_choose(bot, TECH, EN("Done"), expect="Which materials")
    await bot.work_say(TECH, "New tap cartridge", expect="supply any")
    await tech_choose(bot, TECH, EN("No, none"), expect="How long")
    await tech_choose(bot, TECH, EN("{n} min", n=30), expect="fee")
    resident_seen = len(bot.server.sent_to(RESIDENT))
    await tech_choose(bot, TECH, EN("No charge"), expect="is complete")

    # The resident confirms and rates on WeChat: before and after photos, then a menu message.
    asked = await offered(bot, RESIDENT, ZH("✅ Fixed"), after=resident_seen)
    photos = [s.media for s in bot.server.sent_to(RESIDENT)[resident_seen:] if s.kind == "image"]
    assert len(photos) == 2 and photos[0] == stored
    assert asked.kind == "msgmenu" and ZH("❌ Not fixed") in asked.labels
    await bot.tap(RESIDENT, ZH("✅ Fixed"))
    await offered(bot, RESIDENT, "⭐⭐⭐⭐⭐")
    await bot.tap(RESIDENT, "⭐⭐⭐⭐⭐", expect="")
    await bot.say(RESIDENT, "师傅很专业，谢谢！")
    done = await ticket(bot, number)
    assert (done.fixed, done.rating, done.comment) == (True, 5, "师傅很专业，谢谢！")
    assert done.status in ("confirmed", "closed")
    # Every message to the resident went as a customer-service message (all inside the 48 hours).
    assert all(mid.startswith("cs:") for mid in await outbox_ids(bot, "wechat"))
    assert all(mid.startswith(("card:", "msg:")) for mid in await outbox_ids(bot, "wecom"))


async def test_repeated_deliveries_of_the_confirm_tap_make_one_ticket(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom=TECH, skills=("plumbing_electric", "general"))
    await bot.event(RESIDENT, "CLICK", "repair", expect=ZH("Where is the problem?"))
    await bot.choose(RESIDENT, ZH("Public area (lobby, lift, garage, garden…)"))
    after = len(bot.server.sent_to(RESIDENT))
    await bot.oa.location(RESIDENT, 22.5431, 114.0579, "3号楼大堂")
    await bot.server.wait_for_message(RESIDENT, after=after)
    await bot.say(RESIDENT, "13912345678")
    # A voice message with WeChat's recognition counts as typed words.
    after = len(bot.server.sent_to(RESIDENT))
    await bot.oa.voice(RESIDENT, recognition="大堂的门禁坏了刷卡没反应")
    asked = await bot.server.wait_for_message(RESIDENT, after=after)
    if ZH("I still need a repair") in asked.labels:
        await bot.choose(RESIDENT, ZH("I still need a repair"))
    await bot.choose(RESIDENT, ZH("Yes, that's right"))
    await bot.choose(RESIDENT, ZH("Skip"))
    await bot.choose(RESIDENT, ZH("As soon as possible"))
    summary = bot.newest_menu(RESIDENT, ZH("✅ Confirm"))
    assert "大堂的门禁坏了刷卡没反应" in summary.shown
    # WeChat delivers the tap three times (its retries): same MsgId, fresh nonces, even concurrently.
    from bot.wechat.xmlmsg import to_xml

    menu_id = summary.item(ZH("✅ Confirm"))
    xml = to_xml(bot.oa.fields(RESIDENT, "text", Content=ZH("✅ Confirm"), bizmsgmenuid=menu_id))
    answers = await asyncio.gather(*(bot.oa.post(xml) for _ in range(3)))
    assert [(a.status_code, a.text) for a in answers] == [(200, "success")] * 3
    await bot.server.wait_for_message(RESIDENT, "BX-")
    await offer_card(bot, TECH, "BX-")
    await bot.tick(0)
    await asyncio.sleep(0.2)
    assert len(await tickets(bot)) == 1
    assert sum("BX-" in text and ZH("Number") not in text for text in bot.server.texts(RESIDENT)) <= 1
    assert len([s for s in bot.server.sent_to(TECH) if s.kind == "template_card"]) == 1
    (only,) = await tickets(bot)
    assert only.scope == "public" and only.latitude == 22.5431


async def test_real_uvicorn_serves_the_callbacks(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """`baoxiu run`'s web part: uvicorn on 127.0.0.1, WeChat's requests over a real socket."""
    from bot.app import build_app

    settings = settings_for(wx_server, db_url, tmp_path / "media")
    app = build_app(settings, clock=clock)
    await app.start()
    runner = WeChatRunner(app, run_sender=True, host="127.0.0.1", port=0, sender_interval=0.02)
    await runner.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.port}") as http:
            aes = settings.wechat_aes_key.get_secret_value() if settings.wechat_aes_key else None
            oa = OAPusher(http, wx_server, clock.now, token=OA_TOKEN, app_id=wx_server.app_id, aes_key=aes)
            work = WorkPusher(
                http,
                wx_server,
                clock.now,
                token=WORK_TOKEN,
                aes_key=WORK_AES_KEY,
                corp_id=wx_server.corp_id,
                agent_id=wx_server.agent_id,
            )
            assert (await oa.verify("abc")).text == "abc"
            assert (await work.verify("4711")).text == "4711"
            assert (await http.get("/healthz")).json()["ok"] is True
            assert (await oa.event(RESIDENT, "subscribe")).text == "success"
            greeting = await wx_server.wait_for_message(RESIDENT, ZH("What would you like to do?"))
            assert greeting.kind == "msgmenu"
            assert (await oa.text(RESIDENT, "/help")).text == "success"
            await wx_server.wait_for_message(RESIDENT, "/repair", after=1)
    finally:
        await quiesce(app)
        await runner.stop()
        await app.close()


async def test_photo_that_cannot_be_fetched_is_asked_for_again(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.event(RESIDENT, "CLICK", "repair", expect=ZH("Where is the problem?"))
    await bot.choose(RESIDENT, ZH("Public area (lobby, lift, garage, garden…)"))
    await bot.say(RESIDENT, "2号楼东门")
    await bot.say(RESIDENT, "13912345678")
    asked = await bot.say(RESIDENT, "东门旁边的水管漏水了")
    if ZH("I still need a repair") in asked.labels:
        await bot.choose(RESIDENT, ZH("I still need a repair"))
    await bot.choose(RESIDENT, ZH("Yes, that's right"))
    # Media API and PicUrl both fail: the dialog asks again, nothing is stored.
    after = len(bot.server.sent_to(RESIDENT))
    await bot.oa.image(RESIDENT, PHOTO, media=False, url=False)
    again = await bot.server.wait_for_message(
        RESIDENT, ZH("I couldn't download that photo. Please send it again."), after
    )
    # ... and the step again, in the same message (two due at once cost one of the resident's quota).
    assert ZH("Skip") in again.labels and len(bot.server.sent_to(RESIDENT)) == after + 1
    # The media API fails but the PicUrl works.
    after = len(bot.server.sent_to(RESIDENT))
    await bot.oa.image(RESIDENT, PHOTO, media=False)
    got = await bot.server.wait_for_message(RESIDENT, after=after)
    assert ZH("Photo {count} received. Send another, or tap Done.", count=1) in got.shown
    # Something that isn't an image at all is refused by the media store's checks, as on Telegram.
    after = len(bot.server.sent_to(RESIDENT))
    await bot.oa.image(RESIDENT, b"%PDF-1.4 not an image")
    refused = await bot.server.wait_for_message(RESIDENT, after=after)
    assert ZH("Photo {count} received. Send another, or tap Done.", count=2) not in refused.shown
    await bot.tick(0)
    assert not any(
        ZH("Photo {count} received. Send another, or tap Done.", count=2) in text
        for text in bot.server.texts(RESIDENT)
    )


async def test_out_of_window_notice_goes_as_template_and_the_question_comes_back(wxbot: WxBot) -> None:
    """Completion two days later: a template message; when the resident writes, the Fixed/Not fixed menu."""
    bot = wxbot
    await bot.add_staff("Wang", wecom=TECH)
    number = await file_request(bot)
    card = await offer_card(bot, TECH, number)
    await bot.click(TECH, card, EN("✋ Accept"))
    await bot.server.wait_for_message(RESIDENT, "Wang")
    code = (await ticket(bot, number)).arrival_code
    bot.clock.advance(timedelta(hours=49))
    await card_tap(bot, TECH, number, EN("📍 Arrived"), expect="verification code")
    await bot.work_say(TECH, code, expect=EN("Arrival at {number} recorded.", number=number))
    await card_tap(bot, TECH, number, EN("✅ Complete"), expect="photos of the finished work")
    after = len(bot.server.sent_to(TECH))
    await bot.work.image(TECH, jpeg(320, 240, (0, 200, 0)))
    await bot.server.wait_for_message(TECH, "Sent so far: 1", after=after)
    await tech_choose(bot, TECH, EN("Done"), expect="Which materials")
    await tech_choose(bot, TECH, EN("None"), expect="supply any")
    await tech_choose(bot, TECH, EN("No, none"), expect="How long")
    await tech_choose(bot, TECH, EN("{n} min", n=30), expect="fee")
    seen = len(bot.server.sent_to(RESIDENT))
    await tech_choose(bot, TECH, EN("No charge"), expect="is complete")
    template = await bot.server.wait_for_message(RESIDENT, number, after=seen)
    assert template.kind == "template"
    data = template.body["data"]
    assert data["character_string1"]["value"] == number and data["phrase2"]["value"] == ZH("Reply")
    assert data["thing3"]["value"].endswith(ZH(", reply to answer")) and len(data["thing3"]["value"]) <= 20
    assert template.body["template_id"] == "tpl_repair_progress"
    ids = await outbox_ids(bot, "wechat")
    assert any(i.startswith("tpl:") for i in ids) and any(i.startswith("cs:") for i in ids)
    # The template reaches WeChat a moment before the bot notes the question to ask again; a message that
    # comes in between gets it asked after the next one. This resident writes after the note.
    await question_waiting(bot, RESIDENT)
    # The resident writes anything: the window is open again and the question comes back with its menu.
    seen = len(bot.server.sent_to(RESIDENT))
    await bot.oa.text(RESIDENT, "你好")
    asked = await offered(bot, RESIDENT, ZH("✅ Fixed"), after=seen)
    assert asked.kind == "msgmenu" and number in asked.shown
    await bot.tap(RESIDENT, ZH("❌ Not fixed"), expect="")
    await bot.server.wait_for(lambda: True)
    assert (await ticket(bot, number)).fixed in (False, None)
