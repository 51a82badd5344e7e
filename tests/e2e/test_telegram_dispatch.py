"""Dispatch over the fake Bot API server: offers, the grab race, escalation and assignment by tap."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dispatch import staff
from handlers.i18n import Translator
from storage.models import Offer, Person, Ticket, TicketEvent
from tests.support.harness import file_and_dispatch
from tests.support.tgbot import TgBot

ZH = Translator("zh_CN")
EN = Translator("en")
RESIDENT = 7001


async def add_technicians(
    bot: TgBot,
    count: int,
    *,
    first_id: int = 8000,
    skills: tuple[str, ...] = ("plumbing_electric",),
    language: str = "en",
) -> list[int]:
    """Technicians bound to Telegram user ids."""
    assert bot.app is not None
    ids = []
    async with bot.app.db.transaction() as s:
        for i in range(count):
            person = await staff.add(
                s,
                role=staff.Role.TECHNICIAN,
                name=f"Tech{first_id + i}",
                now=bot.clock.now(),
                skills=skills,
                telegram_id=str(first_id + i),
                capacity=100,
            )
            person.language = language
            ids.append(first_id + i)
    return ids


async def file_direct(bot: TgBot, description: str = "Tap leaking in the kitchen") -> int:
    """A ticket filed and dispatched in one transaction, as intake does (intake is tested elsewhere)."""
    assert bot.app is not None
    services = bot.app.services
    async with bot.app.db.transaction() as s:
        resident = (await s.execute(select(Person).where(Person.role == "resident"))).scalars().first()
        if resident is None:
            resident = Person(name="Resident", role="resident", language="en", created_at=bot.clock.now())
            s.add(resident)
            await s.flush()
            await staff.bind_identity(
                s, resident, "telegram", str(RESIDENT), str(RESIDENT), now=bot.clock.now()
            )
        ticket = await file_and_dispatch(s, services, resident.id, description, bot.clock.now(), "en")
        ticket_id = ticket.id
    bot.app.sender.wake()
    return ticket_id


async def race_once(tgbot: TgBot, techs: list[int], trial: int) -> None:
    """One ticket, 20 technicians tapping Accept at once; exactly one wins, everyone is told."""
    server = tgbot.server
    marker = f"Leak number {trial}"
    ticket_id = await file_direct(tgbot, marker)
    await server.wait_for(
        lambda: all(any(marker in m.content for m in server.sent_to(t)) for t in techs), timeout=10
    )
    offers = {t: next(m for m in server.sent_to(t) if marker in m.content) for t in techs}
    before = len(server.callback_answers)
    # All 20 taps are queued before the bot's next poll, so they arrive in one batch and run concurrently.
    for tech, message in offers.items():
        server.push_callback(tech, message.message_id, message.callback_data_for("Accept"))
    await server.wait_for(lambda: len(server.callback_answers) - before >= 20, timeout=15)
    answers = [a["text"] for a in server.callback_answers[before:]]
    assert tgbot.app is not None
    async with tgbot.app.db.transaction() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "assigned"
        winner = await s.get(Person, ticket.technician_id)
        taken = (
            (
                await s.execute(
                    select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "taken")
                )
            )
            .scalars()
            .all()
        )
        copies = (await s.execute(select(Offer).where(Offer.ticket_id == ticket_id))).scalars().all()
    assert winner is not None and len(taken) == 1
    assert sorted(o.status for o in copies) == ["lost"] * 19 + ["taken"]
    assert sum(1 for a in answers if a and a.startswith("✅")) == 1
    assert answers.count(f"Already taken by {winner.name}.") == 19
    await server.wait_for(lambda: all(m.edits >= 1 for m in offers.values()), timeout=10)
    assert all(m.reply_markup is None or not m.reply_markup.get("inline_keyboard") for m in offers.values())
    assert sum(1 for m in offers.values() if f"taken by {winner.name}" in m.content) == 19


async def test_resident_files_technicians_race_and_one_wins_repeatedly(tgbot: TgBot) -> None:
    techs = await add_technicians(tgbot, 20)
    await add_technicians(tgbot, 2, first_id=9000, skills=("hvac",))  # wrong skill: never offered
    # Losers hear back without waiting behind the edits of every copy: taps are answered outside the lanes.
    assert tgbot.app is not None and tgbot.app.sender.fast == {"telegram"}
    for trial in range(8):
        await race_once(tgbot, techs, trial)
    assert all(not any("Leak" in m.content for m in tgbot.server.sent_to(9000 + i)) for i in range(2))


async def test_taps_are_answered_by_the_worker_that_handled_them_even_with_its_sender_stuck(
    tgbot: TgBot,
) -> None:
    server = tgbot.server
    assert tgbot.app is not None and tgbot.runner is not None
    techs = await add_technicians(tgbot, 3)
    await file_direct(tgbot, "Leak under the sink")
    await server.wait_for(lambda: all(server.sent_to(t) for t in techs), timeout=10)
    offers = {t: server.sent_to(t)[-1] for t in techs}
    # The outbox's sender is stuck (a hung connection, say): the toasts do not wait for it.
    sender = tgbot.runner._sender_task
    assert sender is not None
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    before = len(server.callback_answers)
    for tech, message in offers.items():
        server.push_callback(tech, message.message_id, message.callback_data_for("Accept"))
    await server.wait_for(lambda: len(server.callback_answers) - before >= 3, timeout=10)
    answers = sorted(a["text"] for a in server.callback_answers[before:])
    assert answers[0].startswith("Already taken by") and answers[1] == answers[0]
    assert answers[2].startswith("✅")
    # What goes through the outbox (the copies' edits, the job's details) waits for the sender.
    assert all(m.edits == 0 for m in offers.values())


async def test_nobody_grabs_and_the_supervisor_assigns_with_one_tap(tgbot: TgBot) -> None:
    server = tgbot.server
    assert tgbot.app is not None
    techs = await add_technicians(tgbot, 2, skills=("plumbing_electric", "general"))
    async with tgbot.app.db.transaction() as s:
        boss = await staff.add(
            s, role=staff.Role.SUPERVISOR, name="陈主管", now=tgbot.clock.now(), telegram_id="9900"
        )
        assert boss.language is None  # reads the default language, Chinese
    # The resident files through the real dialog, in Chinese.
    await tgbot.say(RESIDENT, "报修", expect=ZH("Where is the problem?"))
    await tgbot.tap(RESIDENT, ZH("Public area (lobby, lift, garage, garden…)"))
    await tgbot.say(RESIDENT, "3号楼大堂", expect="")
    await tgbot.say(RESIDENT, "13912345678", expect="")
    await tgbot.say(RESIDENT, "大堂的门禁坏了，刷卡没反应", expect="")
    await tgbot.server.wait_for(lambda: bool(tgbot.server.sent_to(RESIDENT)[-1].button_texts))
    if ZH("I still need a repair") in tgbot.server.sent_to(RESIDENT)[-1].button_texts:
        await tgbot.tap(RESIDENT, ZH("I still need a repair"))
    await tgbot.tap(RESIDENT, ZH("Yes, that's right"))
    await tgbot.tap(RESIDENT, ZH("Skip"))
    await tgbot.tap(RESIDENT, ZH("As soon as possible"))
    await tgbot.tap(RESIDENT, ZH("✅ Confirm"), expect="BX-")
    for tech in techs:
        await server.wait_for_message(tech, contains="New job")
    assert await tgbot.tick(4) == 0
    assert server.sent_to(9900) == []
    await tgbot.tick(1.5)
    ping = await server.wait_for_message(9900, contains="BX-")
    assert "13912345678" not in ping.content
    assert len(ping.button_texts) == 2
    count = len(server.sent_to(9900))
    server.push_callback(9900, ping.message_id, ping.callback_data_for("Tech8000"))
    await tgbot.reply(9900, count, expect="Tech8000")
    told = await tgbot.reply(RESIDENT, 0, expect="Tech8000")
    assert "Tech8000" in told.content
    details = await server.wait_for_message(techs[0], contains="13912345678")
    assert "3号楼大堂" in details.content
    await server.wait_for(lambda: "assigned to Tech8000" in server.sent_to(techs[1])[-1].content)
