"""A resident files a ticket through real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

from sqlalchemy import select

from handlers.i18n import Translator
from storage.models import Ticket, TicketPhoto
from tests.support.media import jpeg
from tests.support.tgbot import TgBot

ZH = Translator("zh_CN")
EN = Translator("en")
U = 5001


async def test_whole_intake_in_chinese_with_two_photos(tgbot: TgBot) -> None:
    server, bot = tgbot.server, tgbot
    first = await bot.say(U, "/start", expect=ZH("What would you like to do?"))
    assert ZH("🔧 Report a repair") in first.button_texts
    await bot.tap(U, ZH("🔧 Report a repair"), expect=ZH("Where is the problem?"))
    await bot.tap(U, ZH("My home (building, unit, room)"), expect=ZH("Which building?"))
    await bot.tap(U, "1号楼")
    await bot.tap(U, "1单元")
    ask_phone = await bot.say(U, "1203", expect="")
    assert ask_phone.reply_markup and ask_phone.reply_markup["keyboard"][0][0]["request_contact"] is True
    server.push_contact(U, "+86 138 1234 5678", contact_user_id=U)
    await bot.reply(
        U,
        len(server.sent_to(U)) - 1,
        expect=ZH(
            "Please describe the problem in a few words: what is "
            "broken, where, and since when. You may add a voice "
            "message too."
        ),
    )
    await bot.say(U, "厨房水管漏水，滴个不停", expect="水电")
    await bot.tap(U, ZH("Yes, that's right"))
    for color in ((250, 0, 0), (0, 0, 250)):
        count = len(server.sent_to(U))
        server.push_photo(U, jpeg(640, 480, color, exif=True))
        await bot.reply(U, count)
    await bot.tap(U, ZH("Done"))
    summary = await bot.tap(U, ZH("As soon as possible"), expect="1203")
    assert "13812345678" in summary.content and ZH("Photos: {n}", n=2) in summary.content
    done = await bot.tap(U, ZH("✅ Confirm"), expect="BX-")
    assert "BX-20261123-0001" in done.content
    assert ZH("A technician will answer within {duration}.", duration="3 分钟")[:6] in done.content
    assert tgbot.app is not None
    async with tgbot.app.db.transaction() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
        photos = (await s.execute(select(TicketPhoto))).scalars().all()
    assert (ticket.room, ticket.phone, ticket.category, ticket.urgency) == (
        "1203",
        "13812345678",
        "plumbing",
        "urgent",
    )
    media = tgbot.app.services.media
    for photo in photos:
        stored = media.path_for(photo.sha256).read_bytes()
        assert b"Exif" not in stored and b"PhoneMaker" not in stored
    zh_menu = {c["command"]: c["description"] for c in server.commands["zh"]}
    assert zh_menu["repair"] == ZH("Report a repair") != "Report a repair"
    assert {c["command"] for c in server.commands["en"]} == set(zh_menu)


async def test_restart_in_the_middle_resumes_the_dialog(tgbot: TgBot) -> None:
    await tgbot.say(U, "/repair", expect="", language_code="en")
    await tgbot.tap(U, "My home", expect="Which building?")
    await tgbot.tap(U, "Building 2", expect="Which unit")
    await tgbot.restart()
    reply = await tgbot.tap(U, "Unit 1", expect="Which room")
    assert "Building 2" in reply.content


async def test_bad_inputs_get_polite_answers_and_change_nothing(tgbot: TgBot) -> None:
    server = tgbot.server
    await tgbot.say(U, "/repair", expect="Where is the problem?", language_code="en")
    old = tgbot.newest_with_button(U, "My home")
    await tgbot.tap(U, "My home", expect="Which building?")
    # A button from an earlier step.
    count = len(server.sent_to(U))
    server.push_callback(U, old.message_id, old.callback_data_for("My home"))
    await tgbot.reply(U, count, expect="earlier step")
    await tgbot.reply(U, count, expect="Which building?")
    # A tampered button: the current question's id with an index that was never offered.
    current = tgbot.newest_with_button(U, "Building 1")
    forged = current.callback_data_for("Building 1").rsplit(":", 1)[0] + ":99"
    count = len(server.sent_to(U))
    server.push_callback(U, current.message_id, forged)
    await tgbot.reply(U, count, expect="Which building?")
    await server.wait_for(
        lambda: any("couldn't read" in (a.get("text") or "") for a in server.callback_answers)
    )
    # A sticker and an edited message.
    count = len(server.sent_to(U))
    server.push_sticker(U)
    await tgbot.reply(U, count, expect="Stickers")
    count = len(server.sent_to(U))
    server.push_edited_message(U, server.last_user_message_id(U), "/repair again")
    await tgbot.reply(U, count, expect="not edits")
    # Intake asked for in a group: a link to the private chat, never a phone question.
    group = await tgbot.say(U, "/repair", expect="privately", chat_id=-1009, chat_type="supergroup")
    assert "t.me/baoxiu_test_bot?start=repair" in group.content


async def test_oversized_and_fake_photos_are_refused(tgbot: TgBot) -> None:
    server = tgbot.server
    await tgbot.say(U, "/repair", expect="", language_code="en")
    await tgbot.tap(U, "Public area", expect="Where exactly")
    await tgbot.say(U, "Lobby of building 3", expect="phone")
    await tgbot.say(U, "13812345678", expect="describe")
    # Emoji or punctuation alone is not a description: refused kindly, the question stands.
    await tgbot.say(U, "🙏🙏😭", expect="Emoji and punctuation alone")
    await tgbot.say(U, "？？？!!", expect="for example")
    await tgbot.say(U, "The lobby door is broken", expect="")
    message = tgbot.newest_with_button(U, "Yes")
    count = len(server.sent_to(U))
    server.push_callback(U, message.message_id, message.callback_data_for("Yes"))
    await tgbot.reply(U, count, expect="photos")
    count = len(server.sent_to(U))
    server.push_photo(U, jpeg(), file_size=20 * 1024 * 1024)
    await tgbot.reply(U, count, expect="too large")
    count = len(server.sent_to(U))
    server.push_photo(U, b"this is not an image at all")
    await tgbot.reply(U, count, expect="isn't a picture")
    count = len(server.sent_to(U))
    server.push_document(U, jpeg(), "photo.jpg", "image/jpeg")
    await tgbot.reply(U, count, expect="as a photo")
