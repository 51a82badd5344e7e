"""The five closure journeys over the fake Bot API: what everyone saw, the final record and the event log."""

from __future__ import annotations

from tests.support.telegram_journeys import (
    BOSS,
    CS,
    RESIDENT,
    TECH,
    card,
    card_tap,
    cast,
    complete,
    file_request,
    grab,
    kinds,
    minute,
    record,
    tap_first,
    texts,
)
from tests.support.tgbot import TgBot


async def test_happy_journey_with_code_paid_quote_and_five_stars(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    await minute(bot)
    code = await grab(bot, number)
    await minute(bot)
    await card_tap(bot, number, "Set appointment", expect="When will you visit?")
    await tap_first(bot, TECH, expect="Appointment for")
    await minute(bot, 60)
    await card_tap(bot, number, "On my way", expect="When will you be there?")
    await bot.tap(TECH, "in 15 min", expect="on the way")
    await minute(bot, 15)
    await card_tap(bot, number, "Arrived", expect="verification code")
    wrong = "1111" if code != "1111" else "2222"
    await bot.say(TECH, wrong, expect="4 tries left")
    await bot.say(TECH, code, expect="Arrival at")
    await minute(bot, 5)
    await card_tap(bot, number, "Quote", expect="items and prices")
    await bot.say(TECH, "-5 nonsense", expect="couldn't read")
    await bot.say(TECH, "New tap 80\nLabour 50", expect="Quote of ¥130 sent")
    quote = await bot.server.wait_for_message(RESIDENT, contains="Total: ¥130")
    count = len(bot.server.sent_to(TECH))
    bot.server.push_callback(RESIDENT, quote.message_id, quote.callback_data_for("Approve"))
    await bot.reply(TECH, count, expect="approved the quote")
    await minute(bot, 40)
    await complete(bot, number, fee_label="¥130 (approved quote)")
    done = await bot.server.wait_for_message(RESIDENT, contains="Is it fixed?")
    assert done.method in ("sendPhoto", "sendMessage")
    await minute(bot, 10)
    await bot.tap(RESIDENT, "Fixed", expect="rate")
    await bot.tap(RESIDENT, "⭐⭐⭐⭐⭐ 5", expect="Thank you for your rating")
    await bot.say(RESIDENT, "Quick and tidy, thanks!", expect="complete")
    rec = await record(bot, number)
    assert rec["status"] == "closed" and rec["followed_up"] is True
    assert rec["work"] == {
        "materials": "New tap cartridge",
        "customer_materials": "",
        "labour_minutes": 30,
        "fee_cents": 13000,
    }
    assert rec["quotes"][0]["status"] == "approved" and rec["quotes"][0]["total_cents"] == 13000
    assert rec["confirmation"] == {"fixed": True, "rating": 5, "comment": "Quick and tidy, thanks!"}
    assert [p["stage"] for p in rec["photos"]] == ["before", "after"]
    assert kinds(rec) == [
        "submitted",
        "offered",
        "taken",
        "appointment_set",
        "en_route",
        "wrong_code",
        "arrived",
        "quoted",
        "quote_approved",
        "completed",
        "confirmed",
        "rated",
        "closed",
        "commented",
    ]
    times = {e["kind"]: e["at"] for e in rec["events"]}
    assert times["submitted"] == "2026-11-23T01:00:00+00:00"
    assert times["taken"] == "2026-11-23T01:01:00+00:00"
    assert times["en_route"] == "2026-11-23T02:02:00+00:00"
    assert times["arrived"] == "2026-11-23T02:17:00+00:00"
    assert times["completed"] == "2026-11-23T03:02:00+00:00"
    assert times["closed"] == "2026-11-23T03:12:00+00:00"
    resident_saw = texts(bot, RESIDENT)
    for words in (
        "taken your request",
        f"verification code is {code}",
        "will visit",
        "on the way",
        "has arrived",
        "Total: ¥130",
        "Is it fixed?",
        "Thank you for your rating",
    ):
        assert any(words in t for t in resident_saw), words
    assert not any("13812345678" in t for t in texts(bot, BOSS))
    assert card(bot, number).button_texts == []  # the card ends without buttons


async def test_rework_journey_not_fixed_then_fixed(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    await grab(bot, number)
    await minute(bot, 20)
    here = await bot.server.wait_for_message(RESIDENT, contains="verification code")
    count = len(bot.server.sent_to(RESIDENT))
    bot.server.push_callback(RESIDENT, here.message_id, here.callback_data_for("The technician is here"))
    await bot.reply(RESIDENT, count, expect="arrival is recorded")
    await minute(bot, 30)
    await complete(bot, number)
    await bot.tap(RESIDENT, "Not fixed", expect="come back")
    rework = await bot.server.wait_for_message(RESIDENT, contains="new verification code")
    new_code = rework.content.split("new verification code is ")[1][:4]
    await bot.server.wait_for_message(BOSS, contains=f"Rework on {number}")
    await bot.server.wait_for_message(TECH, contains=f"Rework on {number}")
    await minute(bot, 60)
    await card_tap(bot, number, "Arrived", expect="verification code")
    await bot.say(TECH, new_code, expect="Arrival at")
    await complete(bot, number)
    await bot.tap(RESIDENT, "Fixed", expect="rate")
    await bot.tap(RESIDENT, "⭐⭐⭐⭐ 4", expect="Thank you for your rating")
    await bot.tap(RESIDENT, "Skip", expect="complete")
    rec = await record(bot, number)
    assert rec["status"] == "closed" and rec["confirmation"]["rating"] == 4
    assert kinds(rec).count("completed") == 2 and "rework" in kinds(rec)
    rework_event = next(e for e in rec["events"] if e["kind"] == "rework")
    assert rework_event["data"]["reason"] == "not_fixed" and rework_event["at"] == "2026-11-23T01:50:00+00:00"


async def test_on_hold_journey(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    code = await grab(bot, number)
    await card_tap(bot, number, "Arrived", expect="verification code")
    await bot.say(TECH, code, expect="Arrival at")
    await card_tap(bot, number, "On hold", expect="Why is the job on hold?")
    await bot.tap(TECH, "waiting for parts", expect="When do you expect")
    await bot.tap(TECH, "in 2 day(s)", expect="is on hold")
    told = await bot.server.wait_for_message(RESIDENT, contains="on hold")
    assert "waiting for parts" in told.content and "11-25 09:00" in told.content
    assert await bot.tick(2 * 24 * 60) >= 1
    await bot.server.wait_for_message(TECH, contains="expected to continue today")
    await bot.server.wait_for_message(BOSS, contains="still on hold")
    await card_tap(bot, number, "Resume", expect="back in progress")
    await bot.server.wait_for_message(RESIDENT, contains="resumed")
    await complete(bot, number)
    await bot.tap(RESIDENT, "Fixed", expect="rate")
    await bot.tap(RESIDENT, "⭐⭐⭐⭐⭐ 5", expect="Thank you")
    rec = await record(bot, number)
    assert rec["status"] == "closed"
    assert [k for k in kinds(rec) if k in ("on_hold", "resumed")] == ["on_hold", "resumed"]


async def test_silent_resident_gets_a_reminder_then_customer_service_follows_up(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    code = await grab(bot, number)
    await card_tap(bot, number, "Arrived", expect="verification code")
    await bot.say(TECH, code, expect="Arrival at")
    await complete(bot, number)
    await bot.tick(4 * 60)
    await bot.server.wait_for_message(RESIDENT, contains="A reminder")
    await bot.tick(20 * 60)
    await bot.server.wait_for_message(CS, contains=f"Follow-up needed for {number}")
    await bot.say(CS, "/followups", expect="Follow-ups waiting")
    await bot.tap(CS, number, expect="What did the follow-up find?")
    await bot.tap(CS, "Resident satisfied", expect="Add a note")
    await bot.say(CS, "Called: works fine, forgot to reply", expect="Follow-up recorded")
    rec = await record(bot, number)
    assert rec["status"] == "closed" and rec["followed_up"] is True
    assert rec["followups"][0]["reason"] == "silent" and rec["followups"][0]["outcome"] == "satisfied"
    assert kinds(rec)[-4:] == ["confirm_reminded", "followup_opened", "followed_up", "closed"]
    await bot.say(CS, "/followups", expect="No follow-ups")


async def test_cancelled_journey(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    offer = await bot.server.wait_for_message(TECH, contains=f"New job {number}")
    await minute(bot, 2)
    await bot.say(RESIDENT, f"/status {number}", expect=number)
    await bot.tap(RESIDENT, "Cancel this request", expect="Why do you want to cancel")
    await bot.tap(RESIDENT, "fixed it myself", expect="is cancelled")
    await bot.server.wait_for(lambda: "was cancelled" in bot.server.messages[offer.message_id].content)
    before = len(bot.server.callback_answers)
    bot.server.push_callback(
        TECH, offer.message_id, offer.callback_data_for("Accept") if offer.button_texts else "o:gone:a"
    )
    await bot.server.wait_for(lambda: len(bot.server.callback_answers) > before)
    status = await bot.say(RESIDENT, f"/status {number}", expect="Cancelled")
    assert "Cancel this request" not in status.button_texts
    rec = await record(bot, number)
    assert rec["status"] == "cancelled" and kinds(rec)[-1] == "cancelled"
    assert rec["events"][-1]["data"]["reason"] == "fixed_myself"
    other = await bot.say(RESIDENT + 1, f"/status {number}", expect="no request numbered", language_code="en")
    assert number in other.content
