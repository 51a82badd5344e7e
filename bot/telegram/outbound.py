"""Neutral Outbound -> Telegram Bot API calls, with Telegram's errors mapped for the sender."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypedDict

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.outbox.channel import DeliveryError
from bot.telegram.request import is_no_answer, is_unreachable
from handlers.messages import Outbound, ReplyKeyboard
from storage.media import MediaStore

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markup(message: Outbound) -> Markup | None:
    """The keyboard for a message: inline choices, or a contact/location/remove reply keyboard."""
    if message.choices:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(c.label[:64], callback_data=c.data) for c in row]
                for row in message.choices
            ]
        )
    if message.reply_keyboard == ReplyKeyboard.CONTACT:
        button = KeyboardButton(message.keyboard_label or "📱", request_contact=True)
        return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    if message.reply_keyboard == ReplyKeyboard.LOCATION:
        button = KeyboardButton(message.keyboard_label or "📍", request_location=True)
        return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    if message.reply_keyboard == ReplyKeyboard.REMOVE:
        return ReplyKeyboardRemove()
    return None


class Timeouts(TypedDict):
    """PTB's per-call timeouts, in seconds."""

    connect_timeout: float
    write_timeout: float
    read_timeout: float


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramDelivery:
    """Delivers outbox rows through python-telegram-bot's Bot."""

    ephemeral_answers = True  # answerCallbackQuery: no chat message, so no place in the chat's order
    calls_ready = True  # deliver() calls `ready` once past its queue (see bot/outbox/inflight.py)

    def __init__(self, bot: Bot, media: MediaStore, in_flight: int = 8, timeout: float = 10.0) -> None:
        self.bot = bot
        self.media = media
        # Set on every call rather than left to PTB's defaults, which differ by method (uploads wait 20 s to
        # write): how long a send may take is a decision about duplicates (see deliver).
        self.timeout = timeout
        # At most this many calls in flight: httpcore scans every queued request against every pooled
        # connection whenever one is handed out or given back, so a queue of hundreds inside its pool cost
        # more CPU than the calls themselves. Waiting here costs nothing.
        self._gate = asyncio.Semaphore(in_flight)

    async def deliver(
        self,
        message: Outbound,
        edit_target: str | None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:
        """Send, edit or answer; map Telegram's errors to retry or give up. `ready` is awaited just before
        the request, once this call's turn among the calls in flight has come."""
        try:
            async with self._gate:
                if ready is not None:
                    await ready()
                return await self._call(message, edit_target)
        except RetryAfter as exc:
            raise DeliveryError(str(exc), retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise DeliveryError(f"forbidden: {exc.message}", permanent=True) from exc
        except InvalidToken as exc:
            raise DeliveryError("invalid token", permanent=False) from exc
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return edit_target
            raise DeliveryError(f"bad request: {exc.message}", permanent=True) from exc
        except ChatMigrated as exc:
            raise DeliveryError(f"group moved to {exc.new_chat_id}", permanent=True) from exc
        except TimedOut as exc:
            if message.kind == "send" and is_no_answer(exc):
                # The request was out and Telegram did not answer in time: it may have delivered the message,
                # and a second copy (an offer with a live Accept button) is worse than a missing one.
                raise DeliveryError(f"no answer: {exc}", in_doubt=True, settle=self.timeout) from exc
            # Connect, pool or write timeouts: the request never got out whole; an edit or an answer is
            # harmless to repeat.
            raise DeliveryError(f"timed out: {exc}", outage=True) from exc
        except NetworkError as exc:
            # No answer at all (refused, reset, DNS) is an outage; an HTTP 5xx answer is this message's retry.
            unreachable = is_unreachable(exc)
            raise DeliveryError(f"{type(exc).__name__}: {exc}", outage=unreachable) from exc
        except TelegramError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def _timeouts(self) -> Timeouts:
        """The same explicit limit for connecting, writing the request and reading the answer."""
        return Timeouts(connect_timeout=self.timeout, write_timeout=self.timeout, read_timeout=self.timeout)

    async def _call(self, message: Outbound, edit_target: str | None) -> str | None:
        chat_id = int(message.chat_id)
        if message.kind == "answer":
            await self.bot.answer_callback_query(
                message.callback_id, text=_cut(message.text, 200) or None, **self._timeouts()
            )
            return None
        reply_markup = markup(message)
        if message.kind == "edit" and edit_target is not None:
            inline = reply_markup if isinstance(reply_markup, InlineKeyboardMarkup) else None
            await self.bot.edit_message_text(
                _cut(message.text, TEXT_LIMIT),
                chat_id=chat_id,
                message_id=int(edit_target),
                reply_markup=inline,
                **self._timeouts(),
            )
            return edit_target
        if message.documents:
            sent_id = await self._documents(chat_id, message, reply_markup)
            if sent_id is not None:
                return sent_id
        if len(message.photos) == 1 and len(message.text) <= CAPTION_LIMIT:
            data = await asyncio.to_thread(self.media.read, message.photos[0])
            sent = await self.bot.send_photo(
                chat_id, data, caption=message.text or None, reply_markup=reply_markup, **self._timeouts()
            )
            return str(sent.message_id)
        if message.photos:
            media = [
                InputMediaPhoto(await asyncio.to_thread(self.media.read, sha)) for sha in message.photos[:10]
            ]
            await self.bot.send_media_group(chat_id, media, **self._timeouts())
        sent = await self.bot.send_message(
            chat_id, _cut(message.text, TEXT_LIMIT), reply_markup=reply_markup, **self._timeouts()
        )
        return str(sent.message_id)

    async def _documents(self, chat_id: int, message: Outbound, reply_markup: Markup | None) -> str | None:
        """sendDocument for each file, the text as the last one's caption when it fits (then its id is the
        message's); None when photos or a long text still have to follow."""
        caption = message.text if len(message.text) <= CAPTION_LIMIT and not message.photos else ""
        sent_id = ""
        for i, document in enumerate(message.documents):
            last = i == len(message.documents) - 1
            data = await asyncio.to_thread(self.media.read, document.ref)
            sent = await self.bot.send_document(
                chat_id,
                data,
                filename=document.name,
                caption=(caption or None) if last else None,
                reply_markup=reply_markup if last and caption else None,
                **self._timeouts(),
            )
            sent_id = str(sent.message_id)
        return sent_id if caption or not (message.text or message.photos) else None
