"""WeChat's customer-service quota (5 in 48 hours per message, 3 in a minute per click/follow/scan), as the
stricter fake server enforces it: the bot keeps count, merges, and turns to template messages in time."""

from __future__ import annotations

import asyncio

from bot.wechat import quota
from handlers.messages import Choice, Outbound
from handlers.outbox import write_outbox
from tests.support.media import jpeg
from tests.support.wechat_journeys import (
    EN,
    RESIDENT,
    ZH,
    card_tap,
    file_request,
    offer_card,
    question_waiting,
    tech_choose,
    ticket,
)
from tests.support.wxbot import WxBot

TECH = "wangwu"


async def burst(bot: WxBot, texts: list[str], choices: list[list[Choice]] | None = None) -> None:
    """Several notices to the resident committed together (as one transition writes them)."""
    assert bot.app is not None
    messages = [Outbound("wechat", RESIDENT, text) for text in texts]
    if choices:
        messages[-1].choices = choices
    async with bot.app.db.transaction() as session:
        await write_outbox(session, messages, bot.clock.now())
    bot.app.sender.wake()


async def left(bot: WxBot) -> quota.Left | None:
    """What the bot's ledger says the resident's allowance still holds."""
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        return await quota.remaining(session, "wechat", RESIDENT, bot.clock.now())


async def test_a_burst_of_notices_goes_as_one_message_within_the_quota(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.say(RESIDENT, "/help")
    before = len(bot.server.sent_to(RESIDENT))
    spent = 5 - (await left(bot) or quota.Left(0, 0)).message
    choices = [[Choice("c:x:1", "好的"), Choice("c:x:2", "不用了")]]
    await burst(
        bot,
        ["BX-20261123-0042 已派单", "师傅已出发", "师傅预计 10 分钟后到达", "请问需要带梯子吗？"],
        choices,
    )
    merged = await bot.server.wait_for_message(RESIDENT, "请问需要带梯子吗", after=before)
    assert len(bot.server.sent_to(RESIDENT)) == before + 1  # four notices, one message
    assert "BX-20261123-0042 已派单" in merged.shown and "师傅已出发" in merged.shown
    assert merged.labels == ["好的", "不用了"]
    assert (await left(bot)) == quota.Left(0, 5 - spent - 1)
    assert bot.server.refused[RESIDENT] == 0


async def test_notices_over_the_quota_go_as_one_template_without_asking_wechat(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.say(RESIDENT, "/help")
    for i in range(5 - (await left(bot) or quota.Left(0, 0)).message, 5):
        await burst(bot, [f"BX-20261123-0042 通知 {i}"])
        await bot.server.wait_for_message(RESIDENT, f"通知 {i}")
    assert (await left(bot)) == quota.Left(0, 0) and bot.server.cs_left(RESIDENT) == 0
    calls = len(bot.server.calls("oa:message/custom/send"))
    before = len(bot.server.sent_to(RESIDENT))
    await burst(bot, ["BX-20261123-0042 师傅已到达", "BX-20261123-0042 维修中"])
    template = await bot.server.wait_for_message(RESIDENT, "BX-20261123-0042", after=before)
    await asyncio.sleep(0.2)
    assert template.kind == "template" and len(bot.server.sent_to(RESIDENT)) == before + 1
    assert template.body["data"]["thing3"]["value"] == "师傅已到达"
    assert len(bot.server.calls("oa:message/custom/send")) == calls  # never tried: no 45047 at all
    assert bot.server.refused[RESIDENT] == 0


async def test_a_silent_resident_still_gets_the_fixed_question_and_answers_after_writing_once(
    wxbot: WxBot,
) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom=TECH)
    number = await file_request(bot)  # the resident's last message: the confirm tap
    card = await offer_card(bot, TECH, number)
    await bot.click(TECH, card, EN("✋ Accept"))
    await bot.server.wait_for_message(RESIDENT, "Wang")
    code = (await ticket(bot, number)).arrival_code
    await card_tap(bot, TECH, number, EN("📍 Arrived"), expect="verification code")
    await bot.work_say(TECH, code, expect=EN("Arrival at {number} recorded.", number=number))
    await card_tap(bot, TECH, number, EN("✅ Complete"), expect="photos of the finished work")
    for n, colour in enumerate(((0, 200, 0), (0, 0, 200), (200, 200, 0)), 1):
        after = len(bot.server.sent_to(TECH))
        await bot.work.image(TECH, jpeg(320, 240, colour))
        await bot.server.wait_for_message(TECH, f"Sent so far: {n}", after=after)
    await tech_choose(bot, TECH, EN("Done"), expect="Which materials")
    await tech_choose(bot, TECH, EN("None"), expect="supply any")
    await tech_choose(bot, TECH, EN("No, none"), expect="How long")
    await tech_choose(bot, TECH, EN("{n} min", n=30), expect="fee")
    seen = len(bot.server.sent_to(RESIDENT))
    await tech_choose(bot, TECH, EN("No charge"), expect="is complete")
    # The resident has written nothing since filing: the question reaches them within what WeChat allows,
    # never refused (45047), as a menu message or else as a template that says how to answer.
    await bot.server.wait_for(
        lambda: any(
            ZH("✅ Fixed") in s.labels or s.kind == "template" for s in bot.server.sent_to(RESIDENT)[seen:]
        ),
        message="the Fixed / Not fixed question",
    )
    assert bot.server.refused[RESIDENT] == 0
    got = bot.server.sent_to(RESIDENT)[seen:]
    if any(ZH("✅ Fixed") in s.labels for s in got):
        await bot.tap(RESIDENT, ZH("✅ Fixed"))
    else:
        template = next(s for s in got if s.kind == "template")
        assert template.body["data"]["thing3"]["value"].endswith(ZH(", reply to answer"))
        await question_waiting(bot, RESIDENT)  # noted once the template is out
        later = len(bot.server.sent_to(RESIDENT))
        await bot.oa.text(RESIDENT, "你好")  # writing once opens the allowance again
        await bot.server.wait_for(
            lambda: any(ZH("✅ Fixed") in s.labels for s in bot.server.sent_to(RESIDENT)[later:]),
            message="the question asked again",
        )
        await bot.tap(RESIDENT, ZH("✅ Fixed"))
    for _ in range(100):
        if (await ticket(bot, number)).fixed:
            break
        await asyncio.sleep(0.05)
    assert (await ticket(bot, number)).fixed is True
    assert bot.server.refused[RESIDENT] == 0
