"""Matters (报事) over the fake Bot API: routed to a department, answered in chat, forwarded, escalated,
kept private."""

from __future__ import annotations

from dispatch import staff
from tests.support.telegram_journeys import RESIDENT, TECH, file_request, grab, minute, record, texts
from tests.support.tgbot import TgBot

CHEN, ZHOU, LIU = 8400, 8500, 8600  # the demo departments' 陈主管 and 客服小周, and a manager


async def office(bot: TgBot) -> None:
    """The demo departments' staff, a manager and a technician, reading English, bound to Telegram."""
    assert bot.app is not None
    async with bot.app.db.transaction() as s:
        for role, name, uid in (
            (staff.Role.SUPERVISOR, "陈主管", CHEN),
            (staff.Role.CUSTOMER_SERVICE, "客服小周", ZHOU),
            (staff.Role.MANAGER, "刘经理", LIU),
            (staff.Role.TECHNICIAN, "Zhang", TECH),
        ):
            person = await staff.add(
                s,
                role=role,
                name=name,
                now=bot.clock.now(),
                telegram_id=str(uid),
                skills=("plumbing_electric",) if role == staff.Role.TECHNICIAN else (),
            )
            person.language = "en"


async def report(
    bot: TgBot,
    words: str,
    *,
    kind: str = "Complaint",
    about: str = "No, not about a person",
    anonymous: bool = False,
) -> str:
    """The resident reports a matter with /report; returns its number."""
    u = RESIDENT
    await bot.say(u, "/report", expect="What would you like to tell the property office?", language_code="en")
    await bot.tap(u, kind, expect="describe it")
    await bot.say(u, words, expect="Is that right?")
    await bot.tap(u, "Yes, send it to", expect="photos")
    await bot.tap(u, "Skip", expect="" if kind != "Complaint" else "member of our staff")
    if kind == "Complaint":
        await bot.tap(u, about, expect="name and phone")
    await bot.tap(
        u, "Stay anonymous" if anonymous else "Yes, show my name", expect="Please check your report"
    )
    done = await bot.tap(u, "Send it", expect="Number:")
    return done.content.split("Number: ")[1].split()[0]


async def test_a_complaint_is_routed_answered_in_chat_and_rated(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    number = await report(bot, "Loud music from the flat above every night, so noisy after 11pm")
    card = await bot.server.wait_for_message(CHEN, contains=number)
    assert "Security" in card.content and "Accept" in " ".join(card.button_texts)
    assert not any(number in t for t in texts(bot, ZHOU) + texts(bot, TECH))
    await minute(bot)
    await bot.tap(CHEN, "Accept", expect="You have " + number)
    await bot.server.wait_for_message(RESIDENT, contains="has your " + number)
    await bot.tap(CHEN, "Reply", expect="Type your answer")
    await bot.say(
        CHEN, "We spoke to the neighbour; the music stops at 10pm from today.", expect="Sent to the resident"
    )
    answer = await bot.server.wait_for_message(RESIDENT, contains="stops at 10pm")
    assert "The property office (Security)" in answer.content
    await minute(bot, 60)
    await bot.tap(CHEN, "Handled", expect="marked handled")
    await bot.server.wait_for_message(RESIDENT, contains="Was it?")
    await bot.tap(RESIDENT, "Handled", expect="rate")
    await bot.tap(RESIDENT, "⭐⭐⭐⭐⭐ 5", expect="Thank you for your rating")
    await bot.tap(RESIDENT, "Skip", expect="complete")
    rec = await record(bot, number)
    assert rec["status"] == "closed" and rec["confirmation"]["rating"] == 5
    kinds = [e["kind"] for e in rec["events"]]
    assert kinds == [
        "submitted",
        "accepted",
        "answered",
        "replied",
        "handled",
        "confirmed",
        "rated",
        "closed",
    ]


async def test_a_matter_forwarded_to_another_department(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    number = await report(bot, "The rubbish bins behind building 2 smell awful", kind="Suggestion")
    await bot.server.wait_for_message(CHEN, contains=number)
    await bot.tap(CHEN, "Forward", expect="Which department")
    await bot.tap(CHEN, "Billing", expect="Why?")
    await bot.say(CHEN, "Bin collection is paid through the billing office", expect="forwarded")
    told = await bot.server.wait_for_message(RESIDENT, contains="passed to Billing")
    assert "billing office" in told.content
    card = await bot.server.wait_for_message(ZHOU, contains=number)
    assert "Accept" in " ".join(card.button_texts)


async def test_nobody_accepts_the_manager_is_pinged_once(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    number = await report(bot, "Could you tell me when the parcel lockers are fixed?", kind="Inquiry")
    await bot.server.wait_for_message(ZHOU, contains=number)
    for _ in range(4):
        await bot.tick(30)
    await bot.server.wait_for_message(LIU, contains="accepted " + number)
    await bot.tick(30)
    assert sum(("accepted " + number) in t for t in texts(bot, LIU)) == 1


async def test_an_anonymous_resident_is_never_shown_to_staff(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    await file_request(bot)  # the resident's phone (13812345678) and name are known from a repair
    number = await report(bot, "A security guard was asleep at the north gate at night", anonymous=True)
    card = await bot.server.wait_for_message(CHEN, contains=number)
    assert "anonymous" in card.content and "13812345678" not in card.content
    await bot.say(CHEN, f"/ticket {number}", expect=number)
    assert not any("13812345678" in t for t in texts(bot, CHEN))


async def test_a_complaint_naming_a_technician_never_reaches_him(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    repair = await file_request(bot)
    await grab(bot, repair)
    seen = len(bot.server.sent_to(TECH))
    number = await report(bot, "Complaint: the technician was rude on the phone", about="Zhang")
    card = await bot.server.wait_for_message(ZHOU, contains=number)
    assert "About a member of staff: Zhang" in card.content
    await minute(bot)
    await bot.tap(ZHOU, "Accept", expect="You have " + number)
    assert len(bot.server.sent_to(TECH)) == seen
