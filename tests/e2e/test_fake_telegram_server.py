"""The fake Telegram server against the real python-telegram-bot: Bot calls, polling, faults, flood limits."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "123456:TEST-token"
# PTB 22 itself warns whenever it builds a RetryAfter (int vs timedelta migration); that is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*attribute `retry_after`:DeprecationWarning")


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A real JPEG so the fake can report true dimensions."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def make_bot(server: FakeTelegramServer, token: str = TOKEN) -> Bot:
    """A real PTB Bot pointed at the fake server."""
    return Bot(token, base_url=server.base_url, base_file_url=server.file_base_url)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """A running fake server for one test."""
    async with FakeTelegramServer() as fake:
        yield fake


async def test_bot_methods_round_trip(server: FakeTelegramServer) -> None:
    async with make_bot(server) as bot:
        me = await bot.get_me()
        assert me.is_bot and me.username == "baoxiu_test_bot"

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="confirm:1")]])
        sent = await bot.send_message(42, "你好 <b>师傅</b>", parse_mode="HTML", reply_markup=keyboard)
        assert sent.text == "你好 师傅" and sent.entities[0].type == "bold"
        assert sent.reply_markup == keyboard and sent.from_user is not None and sent.from_user.id == me.id
        record = server.messages[sent.message_id]
        assert record.reply_markup == {"inline_keyboard": [[{"text": "确认", "callback_data": "confirm:1"}]]}
        assert record.callback_data_for("确认") == "confirm:1"

        edited = await bot.edit_message_text("已确认", chat_id=42, message_id=sent.message_id)
        assert isinstance(edited, type(sent)) and edited.text == "已确认"
        assert edited.reply_markup is None  # like Telegram, an edit without markup drops the keyboard
        assert server.messages[sent.message_id].edits == 1
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("已确认", chat_id=42, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=42, message_id=999_999)

        photo = jpeg()
        photo_message = await bot.send_photo(42, photo=photo, caption="现场照片")
        largest = photo_message.photo[-1]
        assert photo_message.caption == "现场照片" and (largest.width, largest.height) == (640, 480)
        assert server.messages[photo_message.message_id].photo == photo
        tg_file = await bot.get_file(largest.file_id)
        assert tg_file.file_path is not None and tg_file.file_path.startswith(server.file_base_url)
        assert bytes(await tg_file.download_as_bytearray()) == photo
        resent = await bot.send_photo(43, photo=largest.file_id)
        assert server.messages[resent.message_id].photo == largest.file_id

        commands = [BotCommand("start", "开始报修"), BotCommand("status", "查看进度")]
        assert await bot.set_my_commands(commands, language_code="zh")
        assert server.commands["zh"] == [
            {"command": "start", "description": "开始报修"},
            {"command": "status", "description": "查看进度"},
        ]
        assert await bot.get_my_commands(language_code="zh") == tuple(commands)
        assert [m.message_id for m in server.sent_to(42)] == [sent.message_id, photo_message.message_id]


async def test_keyboards_albums_deletes_and_validation(server: FakeTelegramServer) -> None:
    async with make_bot(server) as bot:
        ask = ReplyKeyboardMarkup(
            [
                [KeyboardButton("发送手机号", request_contact=True)],
                [KeyboardButton("发送位置", request_location=True)],
            ]
        )
        asked = await bot.send_message(42, "请提供联系方式", reply_markup=ask)
        assert asked.reply_markup is None  # Telegram echoes only inline keyboards
        assert server.messages[asked.message_id].button_texts == ["发送手机号", "发送位置"]
        shown = server.reply_keyboards[42]
        assert shown is not None and shown["keyboard"][0][0]["request_contact"] is True
        await bot.send_message(42, "谢谢", reply_markup=ReplyKeyboardRemove())
        assert server.reply_keyboards[42] is None

        album = await bot.send_media_group(
            42, [InputMediaPhoto(jpeg(), caption="一"), InputMediaPhoto(jpeg(320, 240))]
        )
        assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
        assert album[0].caption == "一" and album[1].photo[-1].width == 320
        assert await bot.delete_message(42, album[1].message_id)
        assert server.messages[album[1].message_id].deleted
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(42, album[1].message_id)

        assert await bot.send_chat_action(42, "typing")
        server.push_message(42, "你好", first_name="张三")
        assert (await bot.get_chat(42)).first_name == "张三"
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.get_chat(-100999)
        with pytest.raises(
            BadRequest, match='Can\'t parse entities: unsupported start tag "x" at byte offset 6'
        ):
            await bot.send_message(42, "a < b <x>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
            await bot.send_message(42, "共 1.5 元", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(42, "长" * 4097)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
            await bot.send_message(42, "x", reply_markup=too_long)
        server.block(77)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(77, "hi")


async def test_caption_markup_edits_and_callback_answers(server: FakeTelegramServer) -> None:
    async with make_bot(server) as bot:
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("接单", callback_data="take")]])
        photo = await bot.send_photo(5, photo=server.add_file(jpeg()), caption="旧", reply_markup=buttons)
        with pytest.raises(BadRequest, match="There is no text in the message to edit"):
            await bot.edit_message_text("x", chat_id=5, message_id=photo.message_id)
        edited = await bot.edit_message_caption(5, photo.message_id, caption="新", reply_markup=buttons)
        assert isinstance(edited, type(photo)) and edited.caption == "新" and edited.reply_markup == buttons
        cleared = await bot.edit_message_reply_markup(5, photo.message_id)
        assert isinstance(cleared, type(photo)) and cleared.reply_markup is None
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(5, photo.message_id)
        assert server.messages[photo.message_id].edits == 2

        server.push_callback(5, photo.message_id, "take")
        query = (await bot.get_updates())[-1].callback_query
        assert query is not None and query.message is not None and query.data == "take"
        assert await query.answer("已接单", show_alert=True)
        with pytest.raises(BadRequest, match="Query is too old"):
            await query.answer()  # Telegram accepts one answer per query
        assert server.callback_answers == [
            {"callback_query_id": query.id, "text": "已接单", "show_alert": True}
        ]

    async with FakeTelegramServer(strict_chats=True) as strict, make_bot(strict) as bot:
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(99, "nobody started me")
        strict.push_message(99, "/start")
        assert (await bot.send_message(99, "hi")).chat.id == 99


async def test_wire_format_token_and_unknown_method() -> None:
    async with FakeTelegramServer(token=TOKEN) as server, httpx.AsyncClient() as client:
        api = f"{server.base_url}{TOKEN}"
        answer = await client.post(f"{api}/sendMessage", json={"chat_id": 5, "text": "hi"})
        body = answer.json()
        assert answer.status_code == 200 and body["ok"] is True
        assert body["result"]["text"] == "hi" and body["result"]["chat"] == {
            "id": 5,
            "type": "private",
            "first_name": "User",
        }
        assert (await client.get(f"{api}/GETME")).json()["result"]["is_bot"] is True  # case-insensitive
        missing = await client.post(f"{api}/noSuchMethod")
        assert missing.status_code == 404
        assert missing.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        wrong = await client.post(f"{server.base_url}999:wrong/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with pytest.raises(InvalidToken):
            async with make_bot(server, "999:wrong"):
                pass


async def test_get_updates_long_polling_and_update_shapes(server: FakeTelegramServer) -> None:
    loop = asyncio.get_running_loop()
    async with make_bot(server) as bot:
        started = loop.time()
        poll = asyncio.create_task(bot.get_updates(timeout=2))
        await asyncio.sleep(0.05)
        update_id = server.push_message(7, "/start abc")
        updates = await poll
        assert loop.time() - started < 1 and [u.update_id for u in updates] == [update_id]
        message = updates[0].message
        assert message is not None and message.text == "/start abc"
        assert message.entities[0].type == "bot_command" and message.entities[0].length == 6
        assert (await bot.get_updates(timeout=0))[0].update_id == update_id  # not confirmed yet
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
        assert server.pending_updates == 0

        # A second poller (e.g. a stray bot instance) ends the first one's long poll with 409.
        async with make_bot(server) as other:
            polls = len(server.calls("getUpdates"))
            older = asyncio.create_task(bot.get_updates(timeout=2))
            await server.wait_for(lambda: len(server.calls("getUpdates")) > polls)
            assert await other.get_updates(timeout=0) == ()
            with pytest.raises(Conflict, match="terminated by other getUpdates"):
                await older

        sent = await bot.send_message(
            7, "选择", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
        )
        server.push_photo(7, jpeg(), caption="漏水")
        server.push_document(7, b"%PDF-1.4", "report.pdf", "application/pdf")
        server.push_sticker(7)
        server.push_voice(7)
        server.push_contact(7, "+8613800000000")
        server.push_location(7, 31.23, 121.47)
        server.push_edited_message(7, message.message_id, "/start xyz")
        server.push_callback(7, sent.message_id, "ok")
        server.push_message(8, "群里报修", chat_id=-100123)
        got = await bot.get_updates(offset=update_id + 1, timeout=0)
        assert len(got) == 9
        photo, document, sticker, voice, contact, location, edited, callback, group = got
        assert photo.message and photo.message.caption == "漏水" and photo.message.photo[-1].width == 640
        assert (
            document.message
            and document.message.document
            and document.message.document.file_name == "report.pdf"
        )
        assert sticker.message and sticker.message.sticker and sticker.message.sticker.emoji == "👍"
        assert voice.message and voice.message.voice is not None
        assert contact.message and contact.message.contact and contact.message.contact.user_id == 7
        assert location.message and location.message.location and location.message.location.latitude == 31.23
        assert edited.edited_message and edited.edited_message.text == "/start xyz"
        assert callback.callback_query and callback.callback_query.data == "ok"
        assert (
            callback.callback_query.message and callback.callback_query.message.message_id == sent.message_id
        )
        assert group.message and group.message.chat.type == "supergroup" and group.effective_user
        assert group.effective_user.id == 8

        assert await bot.set_webhook("https://example.invalid/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert server.pending_updates == 0


async def test_application_polls_handles_and_replies(server: FakeTelegramServer) -> None:
    done = InlineKeyboardMarkup([[InlineKeyboardButton("完成", callback_data="done")]])

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("欢迎使用报修")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"收到: {update.message.text}", reply_markup=done)

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        data = await (await update.message.photo[-1].get_file()).download_as_bytearray()
        await update.message.reply_text(f"照片 {len(data)} 字节")

    async def clicked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("好的")
        await query.edit_message_text(f"已完成 ({query.data})")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.file_base_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    app.add_handler(CallbackQueryHandler(clicked))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        server.push_message(42, "/start")
        assert (await server.wait_for_message(42, "欢迎")).text == "欢迎使用报修"
        server.push_message(42, "厨房水管漏水")
        reply = await server.wait_for_message(42, "收到")
        assert reply.text == "收到: 厨房水管漏水" and reply.button_texts == ["完成"]
        image = jpeg()
        server.push_photo(42, image)
        await server.wait_for_message(42, f"照片 {len(image)} 字节")
        server.push_callback(42, reply.message_id, reply.callback_data_for("完成"))
        await server.wait_for(lambda: server.messages[reply.message_id].edits == 1)
        assert server.messages[reply.message_id].text == "已完成 (done)"
        assert server.callback_answers == [{"callback_query_id": ANY, "text": "好的", "show_alert": False}]

        # A burst from many users is answered in order per chat.
        for i in range(100):
            server.push_message(1000 + i % 20, f"第{i}条")
        for user in range(1000, 1020):
            await server.wait_for_message(user, "收到", count=5)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert server.pending_updates == 0  # PTB confirmed everything through getUpdates' offset
    assert not server.errors


async def test_fail_next_surfaces_as_ptb_errors(server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 1, error_code=429, retry_after=7)
    server.fail_next("getFile", 2, error_code=500)
    async with make_bot(server) as bot:
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(1, "x")
        assert (await bot.send_message(1, "x")).text == "x"  # only the next call failed
        for _ in range(2):
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await bot.get_file("anything")
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("anything")
    assert [method for method, _ in server.requests].count("sendMessage") == 2


async def test_rate_limit_mode_answers_429() -> None:
    async with FakeTelegramServer(rate_limit=True) as server, make_bot(server) as bot:
        for _ in range(3):  # the private-chat burst allowance
            await bot.send_message(1, "ok")
        with pytest.raises(RetryAfter, match="Retry in 1 seconds"):
            await bot.send_message(1, "too fast")
        for _ in range(20):
            await bot.send_message(-100123, "ok")
        with pytest.raises(RetryAfter):
            await bot.send_message(-100123, "21st this minute")
        assert server.rate_limit_violations == 2

    # Many connections so the 60 sends really are concurrent (a plain Bot has a pool of one).
    request = HTTPXRequest(connection_pool_size=20, pool_timeout=10)
    async with (
        FakeTelegramServer(rate_limit=True) as server,
        Bot(TOKEN, server.base_url, request=request) as bot,
    ):
        results: list[Any] = await asyncio.gather(
            *(bot.send_message(chat, "hi") for chat in range(1, 61)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, RetryAfter)]
        assert len(refused) >= 10 and len(refused) + sum(not isinstance(r, Exception) for r in results) == 60
        assert server.rate_limit_violations == len(refused)


async def test_the_overall_limit_is_a_sliding_window_with_no_burst_on_top() -> None:
    """30 sends in one second, then more half a second later: a token bucket would have refilled 15 by now,
    Telegram's limit (30 in any second) has not; a second after the first ones there is room again."""
    request = HTTPXRequest(connection_pool_size=32, pool_timeout=10)
    async with (
        FakeTelegramServer(rate_limit=True) as server,
        Bot(TOKEN, server.base_url, request=request) as bot,
    ):
        await asyncio.gather(*(bot.send_message(chat, "hi") for chat in range(1, 31)))
        await asyncio.sleep(0.5)
        with pytest.raises(RetryAfter):
            await bot.send_message(31, "31st within a second")
        await asyncio.sleep(0.6)
        assert (await bot.send_message(32, "a second later")).text == "a second later"
        assert server.rate_limit_violations == 1
        assert len(server.send_times) == 31


async def test_a_call_can_complete_after_the_clients_timeout() -> None:
    """Telegram may deliver a message whose answer the bot never hears: the send timed out, yet it arrived."""
    request = HTTPXRequest(read_timeout=0.2)
    async with FakeTelegramServer() as server, Bot(TOKEN, server.base_url, request=request) as bot:
        server.answer_delay = 0.5
        with pytest.raises(TimedOut):
            await bot.send_message(5, "did it arrive?")
        assert [m.content for m in server.sent_to(5)] == ["did it arrive?"]


async def test_latency_and_wait_for_timeout_message() -> None:
    async with FakeTelegramServer(latency=0.2) as server, make_bot(server) as bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await bot.send_message(3, "slow")
        assert loop.time() - started >= 0.2
        with pytest.raises(
            AssertionError, match=r"message\(s\) to chat 3 containing 'nope'; the chat got \['slow'\]"
        ):
            await server.wait_for_message(3, "nope", timeout=0.05)
