"""A matter (报事) over WeChat: the resident on the Official Account, the department's staff on WeCom."""

from __future__ import annotations

from tests.support.wechat_journeys import EN, RESIDENT, ZH, ticket
from tests.support.wxbot import WxBot

CHEN = "chenzhuguan"


async def test_a_complaint_is_routed_answered_and_rated_over_wechat(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("陈主管", "supervisor", wecom=CHEN)
    await bot.say(RESIDENT, "/report", expect=ZH("What would you like to tell the property office?"))
    await bot.choose(RESIDENT, ZH("Complaint"), expect="请用几句话描述")
    await bot.say(RESIDENT, "楼下噪音太大，每天晚上十一点以后还很吵", expect="安保部")
    await bot.choose(RESIDENT, ZH("Yes, send it to {name}", name="安保部"))
    await bot.choose(RESIDENT, ZH("Skip"))
    await bot.choose(RESIDENT, ZH("No, not about a person"))
    await bot.choose(RESIDENT, ZH("Yes, show my name"))
    done = await bot.choose(RESIDENT, ZH("✅ Send it"), expect="BS-")
    number = "BS-" + done.shown.split("BS-")[1][:13]
    await bot.server.wait_for(
        lambda: any(s.kind == "template_card" and number in s.text for s in bot.server.sent_to(CHEN)),
        message="the matter's card in the WeCom app",
    )
    card = next(s for s in bot.server.sent_to(CHEN) if s.kind == "template_card" and number in s.text)
    assert EN("✋ Accept") in card.labels and "13812345678" not in card.shown
    seen = len(bot.server.sent_to(RESIDENT))
    await bot.click(CHEN, card, EN("✋ Accept"))
    await bot.server.wait_for_message(RESIDENT, number, after=seen)
    await bot.server.wait_for(lambda: bool(card.updates), message="the card updated in place")
    await bot.click(CHEN, card, EN("💬 Reply"))
    await bot.server.wait_for_message(CHEN, "Type your answer")
    seen = len(bot.server.sent_to(RESIDENT))
    await bot.work_say(CHEN, "已联系楼下住户，晚上十点后保持安静。", expect="Sent to the resident")
    answer = await bot.server.wait_for_message(RESIDENT, "晚上十点后保持安静", after=seen)
    assert ZH("💬 Answer") in answer.labels and number in answer.shown
    await bot.click(CHEN, card, EN("✅ Handled"))
    await bot.server.wait_for_message(RESIDENT, number, after=seen + 1)
    await bot.choose(RESIDENT, ZH("✅ Handled"))
    await bot.choose(RESIDENT, "⭐⭐⭐⭐⭐ 5")
    await bot.choose(RESIDENT, ZH("Skip"))
    stored = await ticket(bot, number)
    assert (stored.kind, stored.status, stored.rating) == ("matter", "closed", 5)
