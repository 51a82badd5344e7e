"""Whole journeys over WeChat: a resident on the Official Account, technicians in the WeCom app."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dispatch import staff
from handlers.i18n import Translator
from storage.models import Person, Ticket, WeChatChat
from storage.repositories import Tickets
from tests.fakes.wechat_server import Sent
from tests.support.harness import file_and_dispatch
from tests.support.media import jpeg
from tests.support.wxbot import WxBot

ZH = Translator("zh_CN")
EN = Translator("en")
RESIDENT = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
PHOTO = jpeg(320, 240, (200, 0, 0))


async def file_request(bot: WxBot, user: str = RESIDENT, description: str = "厨房水龙头漏水") -> str:
    """The resident reports a repair through the menu and the dialog, photo included; the ticket number."""
    await bot.event(user, "CLICK", "repair", expect=ZH("Where is the problem?"))
    await bot.choose(user, ZH("My home (building, unit, room)"), expect=ZH("Which building?"))
    await bot.choose(user, "1号楼")
    await bot.choose(user, "1单元")
    await bot.say(user, "1203")
    await bot.say(user, "13812345678")
    asked = await bot.say(user, description)
    if ZH("I still need a repair") in asked.labels:
        await bot.choose(user, ZH("I still need a repair"))
    seen = len(bot.server.sent_to(user))
    await bot.choose(user, ZH("Yes, that's right"))
    await file_own_when_asked(bot, user, seen)
    after = len(bot.server.sent_to(user))
    assert (await bot.oa.image(user, PHOTO)).text == "success"
    await bot.server.wait_for_message(
        user, ZH("Photo {count} received. Send another, or tap Done.", count=1)[:6], after=after
    )
    await bot.choose(user, ZH("Done"))
    await bot.choose(user, ZH("As soon as possible"))
    done = await bot.choose(user, ZH("✅ Confirm"), expect="BX-")
    return "BX-" + done.shown.split("BX-")[1][:13]


async def ticket(bot: WxBot, number: str) -> Ticket:
    """The ticket as stored."""
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        found = await Tickets(session).by_number(number)
        assert found is not None
        return found


async def tickets(bot: WxBot) -> list[Ticket]:
    """Every ticket."""
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        return list((await session.execute(select(Ticket))).scalars())


async def offer_card(bot: WxBot, user: str, number: str) -> Sent:
    """The grab offer's template card in a technician's WeCom app."""
    await bot.server.wait_for(
        lambda: any(s.kind == "template_card" and number in s.text for s in bot.server.sent_to(user)),
        message=f"an offer card for {number} to {user}",
    )
    return next(s for s in bot.server.sent_to(user) if s.kind == "template_card" and number in s.text)


async def job_card(bot: WxBot, user: str, number: str) -> Sent:
    """The technician's job card (a template card, updated in place)."""
    head = EN("🛠 Job {headline}", headline=number)[:20]

    def found() -> Sent | None:
        cards = [s for s in bot.server.sent_to(user) if s.kind == "template_card" and s.text.startswith(head)]
        return cards[-1] if cards else None

    await bot.server.wait_for(lambda: found() is not None, message=f"the job card for {number} to {user}")
    card = found()
    assert card is not None
    return card


async def card_tap(bot: WxBot, user: str, number: str, label: str, expect: str = "") -> Sent:
    """Tap a step on the job card; wait for the technician's next message (a new one or a card update)."""
    card = await job_card(bot, user, number)
    after, updates = len(bot.server.sent_to(user)), len(card.updates)
    await bot.click(user, card, label)
    await bot.server.wait_for(
        lambda: len(bot.server.sent_to(user)) > after or len(card.updates) > updates,
        message=f"an answer to {label!r}",
    )
    if expect:
        await bot.server.wait_for(
            lambda: any(expect in s.shown for s in bot.server.sent_to(user)[after - 1 :]),
            message=f"{expect!r} for {user}",
        )
    return bot.server.sent_to(user)[-1]


async def tech_choose(bot: WxBot, user: str, label: str, expect: str = "") -> Sent:
    """A technician picks a choice: a card's button, or the number of a numbered line."""
    for sent in reversed(bot.server.sent_to(user)):
        if sent.kind == "template_card" and any(label in text for text in sent.labels):
            after = len(bot.server.sent_to(user))
            await bot.click(user, sent, label)
            return await bot.server.wait_for_message(user, expect, after=after)
        number = bot.numbered(user, label)
        if number is not None:
            return await bot.work_say(user, number, expect)
    raise AssertionError(f"{user} was never offered {label!r}")


async def file_direct(wx: WxBot, description: str) -> str:
    """A ticket from the WeChat resident, filed and dispatched in one transaction as intake does."""
    assert wx.app is not None
    services, now = wx.app.services, wx.clock.now()
    async with wx.app.db.transaction() as session:
        found = (await session.execute(select(Person).where(Person.name == "Resident"))).scalars().first()
        if found is None:
            found = Person(name="Resident", role="resident", language="zh_CN", created_at=now)
            session.add(found)
            await session.flush()
            await staff.bind_identity(session, found, "wechat", RESIDENT, RESIDENT, now=now)
        tk = await file_and_dispatch(session, services, found.id, description, now, "zh_CN")
        number = tk.number
    wx.app.sender.wake()
    return number


async def file_own_when_asked(bot: WxBot, user: str, after: int) -> None:
    """Past the category: when a neighbour's open report of the same fault is offered, file one's own."""
    own, photos = ZH("📝 File my own"), ZH("Skip")

    def asked() -> str:
        for message in bot.server.sent_to(user)[after:]:
            if any(own in label for label in message.labels) or own in message.shown:
                return "join"
            if any(photos in label for label in message.labels) or photos in message.shown:
                return "photos"
        return ""

    await bot.server.wait_for(lambda: bool(asked()), message=f"{user}: photos?")
    if asked() == "join":
        await bot.choose(user, own)


async def question_waiting(bot: WxBot, chat_id: str) -> None:
    """Until the bot has noted a question to ask this chat again when it next writes (10 s at most)."""
    assert bot.app is not None
    for _ in range(200):
        async with bot.app.db.transaction() as session:
            row = await session.get(WeChatChat, ("wechat", chat_id), populate_existing=True)
            if row is not None and row.choices.get("deferred"):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no question deferred for {chat_id} after 10 s")
