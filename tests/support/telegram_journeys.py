"""Shared steps for whole journeys over the fake Bot API: people, filing, grabbing, card taps, records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dispatch import staff
from dispatch.records import full_record
from storage.repositories import Tickets
from tests.fakes.telegram_objects import SentMessage
from tests.support import joining
from tests.support.media import jpeg
from tests.support.tgbot import TgBot

RESIDENT, TECH, BOSS, CS = 7100, 8100, 8200, 8300


async def cast(bot: TgBot) -> None:
    """A technician, a supervisor and customer service, all reading English, bound to Telegram ids."""
    assert bot.app is not None
    async with bot.app.db.transaction() as s:
        for role, name, uid in (
            (staff.Role.TECHNICIAN, "Zhang", TECH),
            (staff.Role.SUPERVISOR, "Boss", BOSS),
            (staff.Role.CUSTOMER_SERVICE, "Zhou", CS),
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


async def minute(bot: TgBot, n: float = 1) -> None:
    """Let time pass on the fake clock (every event gets its own timestamp)."""
    bot.clock.advance(timedelta(minutes=n))


async def file_request(bot: TgBot, description: str = "The kitchen tap is leaking") -> str:
    """The resident files through the whole dialog; returns the ticket number."""
    u = RESIDENT
    await bot.say(u, "/repair", expect="Where is the problem?", language_code="en")
    await bot.tap(u, "My home", expect="Which building?")
    await bot.tap(u, "Building 1", expect="Which unit")
    await bot.tap(u, "Unit 1", expect="room")
    await bot.say(u, "1203", expect="phone")
    await bot.say(u, "13812345678", expect="describe")
    await bot.say(u, description, expect="")
    await bot.server.wait_for(lambda: bool(bot.server.sent_to(u)[-1].button_texts))
    if "I still need a repair" in bot.server.sent_to(u)[-1].button_texts:
        await bot.tap(u, "I still need a repair", expect="Is that right?")
    seen = len(bot.server.sent_to(u))
    await bot.tap(u, "Yes, that's right", expect=None)
    await file_own_when_asked(bot, u, seen)
    count = len(bot.server.sent_to(u))
    bot.server.push_photo(u, jpeg(320, 240, (200, 0, 0)))
    await bot.reply(u, count, expect="Photo 1 received")
    await bot.tap(u, "Done", expect="When would a visit suit you?")
    await bot.tap(u, "As soon as possible", expect="Please check your repair request")
    done = await bot.tap(u, "Confirm", expect="Number:")
    return done.content.split("Number: ")[1].split()[0]


async def grab(bot: TgBot, number: str) -> str:
    """The technician accepts; returns the resident's arrival code."""
    offer = await bot.server.wait_for_message(TECH, contains=f"New job {number}")
    count = len(bot.server.sent_to(RESIDENT))
    bot.server.push_callback(TECH, offer.message_id, offer.callback_data_for("Accept"))
    told = await bot.reply(RESIDENT, count, expect="verification code")
    await bot.server.wait_for_message(TECH, contains=f"Job {number}")
    return told.content.split("verification code is ")[1][:4]


def card(bot: TgBot, number: str) -> SentMessage:
    """The technician's job card for a ticket."""
    for message in reversed(bot.server.sent_to(TECH)):
        if message.content.startswith(f"🛠 Job {number}"):
            return message
    raise AssertionError(f"no job card for {number}")


async def card_tap(bot: TgBot, number: str, label: str, expect: str | None = None) -> SentMessage:
    """Tap a step on the job card (once the card offers it); wait for the technician's next message."""
    await bot.server.wait_for(
        lambda: any(label in b for b in card(bot, number).button_texts),
        message=f"job card never offered {label!r}",
    )
    message = card(bot, number)
    count = len(bot.server.sent_to(TECH))
    bot.server.push_callback(TECH, message.message_id, message.callback_data_for(label))
    return await bot.reply(TECH, count, expect)


async def tap_first(bot: TgBot, user: int, expect: str | None = None) -> SentMessage:
    """Tap the first button of the newest message that has buttons."""
    for message in reversed(bot.server.sent_to(user)):
        if message.button_texts:
            count = len(bot.server.sent_to(user))
            data = message.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
            bot.server.push_callback(user, message.message_id, data)
            return await bot.reply(user, count, expect)
    raise AssertionError(f"no buttons in chat {user}")


async def complete(bot: TgBot, number: str, fee_label: str = "No charge") -> None:
    """The completion dialog: one after-photo, materials, no customer materials, 30 minutes, the fee."""
    await card_tap(bot, number, "Complete", expect="photos of the finished work")
    count = len(bot.server.sent_to(TECH))
    bot.server.push_photo(TECH, jpeg(320, 240, (0, 200, 0)))
    await bot.reply(TECH, count, expect="Sent so far: 1")
    await bot.tap(TECH, "Done", expect="Which materials")
    await bot.say(TECH, "New tap cartridge", expect="supply any")
    await bot.tap(TECH, "No, none", expect="How long")
    await bot.tap(TECH, "30 min", expect="fee")
    resident_count = len(bot.server.sent_to(RESIDENT))
    await bot.tap(TECH, fee_label, expect="is complete")
    await bot.reply(RESIDENT, resident_count, expect="Is it fixed?")


async def record(bot: TgBot, number: str) -> dict[str, Any]:
    """What `baoxiu tickets show NUMBER --json` prints."""
    assert bot.app is not None
    async with bot.app.db.transaction() as s:
        ticket = await Tickets(s).by_number(number)
        assert ticket is not None
        return await full_record(s, ticket)


def kinds(rec: dict[str, Any]) -> list[str]:
    """The event kinds in order."""
    return [e["kind"] for e in rec["events"]]


def texts(bot: TgBot, user: int) -> list[str]:
    """Everything a person saw, in order (edits show their latest text)."""
    return [m.content for m in bot.server.sent_to(user)]


async def file_own_when_asked(bot: TgBot, user: int, after: int) -> None:
    """Past the category: when a neighbour's open report of the same fault is offered, file one's own."""

    def seen() -> str:
        return joining.asked(bot.server.sent_to(user)[after:])

    await bot.server.wait_for(lambda: bool(seen()), message=f"chat {user}: photos?")
    if seen() == "join":
        await bot.tap(user, joining.OWN, expect="photos")
