"""Neutral Outbound -> WeChat: customer-service or template messages (residents); WeChat's errors mapped for
the outbox sender. WeCom's cards and the group robot are in bot/wechat/wecom_delivery.py.

The outbox row records what went out in its channel message id: `cs:<n>` a customer-service message,
`tpl:<msgid>` a template message, `card:<id>` a WeCom template card, `msg:<msgid>` a WeCom message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.channel import DeliveryError
from bot.wechat import quota
from bot.wechat.chats import ChatStore, menu_item_id
from bot.wechat.client import Api, ApiError, CallFailure, TransportError, errcode
from bot.wechat.templates import template_data
from bot.wechat.text import MENU_HEAD_BYTES, chunks
from dispatch.clock import Clock
from handlers.i18n import Translator
from handlers.messages import Choice, Outbound, ReplyKeyboard
from storage.db import Database
from storage.media import MediaStore
from storage.repositories import People

log = logging.getLogger(__name__)
OA = "wechat"
WECOM = "wecom"
ROBOT = "wecom-robot"

WINDOW = timedelta(hours=48)  # customer-service messages only this long after the user's last message
WINDOW_MARGIN = timedelta(minutes=2)
MENU_MAX = 10  # msgmenu items
CARD_BUTTONS = 6  # WeCom button_interaction cards
OUT_OF_WINDOW = 45015
# Codes meaning the whole app must wait (the sender pauses the channel): daily and per-minute API quotas,
# WeCom's concurrency limit. The per-follower quota (45047) is not among them: that message goes as a
# template at once.
RETRY_AFTER = {45009: 1800.0, 45011: 60.0, 45033: 10.0}
CS_QUOTA = 45047  # over the follower's customer-service quota: a template at once (see quota.py)
# Codes meaning this person can't be messaged: not a follower any more, unknown id, blocked us.
GONE = frozenset({40003, 43004, 43019, 43101, 60111, 81013, 82001})
# Codes meaning our request or configuration is wrong: retrying won't help.
PERMANENT = frozenset({40008, 40037, 41028, 41030, 44002, 45002, 47001, 48001, 40058, 40056})
MENU_UNAVAILABLE = frozenset({40008, 48001, 47001, 45002})


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flat(message: Outbound) -> list[Choice]:
    """The message's choices in reading order."""
    return [choice for row in message.choices for choice in row]


def keyboard_hint(message: Outbound, t: Translator) -> str:
    """What stands in for Telegram's send-location keyboard (the phone question already says to type)."""
    if message.reply_keyboard == ReplyKeyboard.LOCATION:
        return t("To send a location pin, tap ＋ and choose Location.")
    return ""


def numbered(text: str, choices: list[Choice], t: Translator) -> str:
    """Choices as numbered lines under the text, to be answered by number (or by the label)."""
    if not choices:
        return text
    lines = [f"{i}. {choice.label}" for i, choice in enumerate(choices, 1)]
    return "\n".join([text, "", *lines, t("Reply with the number of your choice.")]).strip()


@dataclass
class Reader:
    """Who reads a chat: their language and when they last wrote to us."""

    language: str
    last_seen_at: datetime | None


class BaseDelivery:
    """What delivery through the Official Account and through WeCom share: readers, chats, photo uploads."""

    channel = ""

    def __init__(
        self, db: Database, clock: Clock, media: MediaStore, chats: ChatStore, language: str
    ) -> None:
        self.db = db
        self.clock = clock
        self.media = media
        self.chats = chats
        self.default_language = language

    async def reader(self, chat_id: str) -> Reader:
        """The reader's language and last message (private chats: the chat id is the user id)."""
        async with self.db.transaction() as session:
            return await self._reader(session, chat_id)

    async def _reader(self, session: AsyncSession, chat_id: str) -> Reader:
        found = await People(session).by_identity(self.channel, chat_id)
        if found is None:
            return Reader(self.default_language, None)
        person, identity = found
        return Reader(person.language or self.default_language, identity.last_seen_at)

    async def _upload(self, api: Api, sha: str) -> str | None:
        """Upload a stored photo as temporary media; its media id (None when it is not in the store)."""
        try:
            data = await asyncio.to_thread(self.media.read, sha)
        except (OSError, ValueError):
            log.warning("%s: photo %s is not in the media store", self.channel, sha)
            return None
        name = "photo.png" if data[:4] == b"\x89PNG" else "photo.jpg"
        mime = "image/png" if name.endswith("png") else "image/jpeg"
        result = await api.call(lambda c: c.media.upload("image", (name, data, mime)))
        return str(result["media_id"])

    async def _upload_file(self, api: Api, sha: str, name: str) -> str | None:
        """Upload a file the bot made (an export) as temporary media of type file; its media id."""
        try:
            data = await asyncio.to_thread(self.media.read, sha)
        except (OSError, ValueError):
            log.warning("%s: file %s is not in the media store", self.channel, sha)
            return None
        result = await api.call(lambda c: c.media.upload("file", (name, data, "application/octet-stream")))
        return str(result["media_id"])


def api_failure(exc: BaseException, what: str) -> DeliveryError:
    """WeChat's answer (or the lack of one) as a DeliveryError the sender understands.

    Permanent: the person can't be messaged (unfollowed, unknown) or our request is wrong; the sender gives
    up and, for an important message, tells the ticket's supervisors. Transport failures are outages.
    """
    if isinstance(exc, TransportError):
        return DeliveryError(f"{what}: {type(exc).__name__}", outage=True)
    code = errcode(exc)
    text = f"{what}: {code} {getattr(exc, 'errmsg', '') or type(exc).__name__}"
    if code in RETRY_AFTER:
        return DeliveryError(text, retry_after=RETRY_AFTER[code])
    return DeliveryError(text, permanent=code in PERMANENT or code in GONE)


class OfficialAccountDelivery(BaseDelivery):
    """Residents (and anyone else who talks to us through the Official Account)."""

    channel = OA
    merges_notices = True  # every customer-service message counts against the follower's quota

    def __init__(
        self,
        api: Api,
        db: Database,
        clock: Clock,
        media: MediaStore,
        chats: ChatStore,
        *,
        language: str,
        template_id: str,
        template_fields: str,
        msgmenu: bool,
        timezone: ZoneInfo,
    ) -> None:
        super().__init__(db, clock, media, chats, language)
        self.api = api
        self.template_id = template_id
        self.template_fields = template_fields
        self.msgmenu = msgmenu
        self.timezone = timezone
        self.channel_ref: object = None  # the WeChatChannel that owns this delivery

    def in_window(self, reader: Reader) -> bool:
        """May we still send customer-service messages (48 hours after their last message)?"""
        if reader.last_seen_at is None:
            return True  # never wrote through this app as far as we know: let WeChat decide
        return self.clock.now() - reader.last_seen_at < WINDOW - WINDOW_MARGIN

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """A customer-service message while the follower's quota and 48 hours allow it; else a template
        message (at once when WeChat answers 45015 or 45047: never a retry that can't succeed)."""
        if message.kind == "answer" and not message.text:
            return None  # WeChat has no tap spinner to stop
        choices = flat(message)
        now = self.clock.now()
        async with self.db.transaction() as session:
            reader = await self._reader(session, message.chat_id)
            t = Translator(reader.language)
            seq = None
            fitted = await self._fit(session, message, choices, t, now) if self.in_window(reader) else None
            if fitted is not None:
                # The choices are remembered before the message goes out, so that a quick tap finds them.
                data = [c.data for c in choices]
                seq = await self.chats.remember_in(session, self.channel, message.chat_id, data)
        if fitted is not None and seq is not None:
            try:
                return await self._customer_service(fitted, t, seq, choices)
            except ApiError as exc:
                code = errcode(exc)
                if code not in (OUT_OF_WINDOW, CS_QUOTA):
                    raise api_failure(exc, "customer-service message") from exc
                if code == CS_QUOTA:
                    async with self.db.transaction() as session:
                        await quota.exhaust(session, self.channel, message.chat_id, self.clock.now())
                log.info(
                    "wechat: %s can't take customer-service messages (%s): a template", message.chat_id, code
                )
            except TransportError as exc:
                raise api_failure(exc, "customer-service message") from exc
        if message.kind == "answer":
            return None  # a tap's short answer is not worth a template message
        return await self._template(message, t)

    def _cost(self, message: Outbound, choices: list[Choice], t: Translator) -> int:
        """How many customer-service messages `message` takes: each photo, and each part of its text."""
        text = "\n".join(part for part in (message.text, keyboard_hint(message, t)) if part)
        if choices and self.msgmenu and len(choices) <= MENU_MAX:
            parts = len(chunks(text, MENU_HEAD_BYTES))
        else:
            parts = sum(1 for part in chunks(numbered(text, choices, t)) if part.strip())
        return len(message.photos[:9]) + max(1, parts)

    async def _fit(
        self, session: AsyncSession, message: Outbound, choices: list[Choice], t: Translator, now: datetime
    ) -> Outbound | None:
        """The message as the follower's quota allows it (spent here), or None: a template instead.

        When the photos would run over, the text goes without them (they are in the ticket's record)."""
        spent = await quota.spend(
            session, self.channel, message.chat_id, self._cost(message, choices, t), now
        )
        if spent is not False:
            return message
        if message.photos and message.text:
            bare = replace(message, photos=[])
            if await quota.spend(session, self.channel, message.chat_id, self._cost(bare, choices, t), now):
                log.info("wechat: %d photo(s) to %s left out (quota)", len(message.photos), message.chat_id)
                return bare
        return None

    async def _customer_service(
        self, message: Outbound, t: Translator, seq: int, choices: list[Choice]
    ) -> str:
        chat_id = message.chat_id
        for sha in message.photos[:9]:
            media_id = await self._upload(self.api, sha)
            if media_id:
                await self._image(chat_id, media_id)
        if message.documents:
            # An Official Account can't send files; only staff (on WeCom) are sent any.
            log.warning("wechat: %d file(s) to %s left out", len(message.documents), chat_id)
        text = "\n".join(part for part in (message.text, keyboard_hint(message, t)) if part)
        if (
            choices
            and self.msgmenu
            and len(choices) <= MENU_MAX
            and await self._menu(message, choices, text, seq, t)
        ):
            return f"cs:{seq}"
        for part in chunks(numbered(text, choices, t)):
            if part.strip():
                await self._text(chat_id, part)
        return f"cs:{seq}"

    async def _image(self, chat_id: str, media_id: str) -> None:
        await self.api.call(lambda c: c.message.send_image(chat_id, media_id))

    async def _text(self, chat_id: str, text: str) -> None:
        await self.api.call(lambda c: c.message.send_text(chat_id, text))

    async def _menu(
        self, message: Outbound, choices: list[Choice], text: str, seq: int, t: Translator
    ) -> bool:
        """The choices as a 菜单消息 (tappable lines); False when this account can't send one."""
        # A long text goes first as text messages of its own; the menu's head is its last part.
        *before, head = chunks(text, MENU_HEAD_BYTES)
        for part in before:
            await self._text(message.chat_id, part)
        menu = {
            "head_content": head,
            "list": [
                {"id": menu_item_id(seq, i), "content": cut(c.label, 60)} for i, c in enumerate(choices)
            ],
            "tail_content": t("Tap an option above, or reply with its number."),
        }
        try:
            await self.api.call(lambda c: c.message.send_msg_menu(message.chat_id, menu))
        except ApiError as exc:
            if errcode(exc) not in MENU_UNAVAILABLE:
                raise
            log.warning("wechat: menu messages unavailable (%s); numbered replies from now on", errcode(exc))
            self.msgmenu = False
            return False
        return True

    async def _template(self, message: Outbound, t: Translator) -> str:
        chat_id = message.chat_id
        if not self.template_id:
            raise DeliveryError("outside the 48-hour window and no WECHAT_TEMPLATE_ID set", permanent=True)
        when = self.clock.now().astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")
        hint = t("Send us any message in this chat to see the details and answer.")
        # Words for the new layout's short fields: a status of 5 characters at most, the end of a gist.
        status = t("Reply") if message.choices else t("News")
        ask = t(", reply to answer") if message.choices else ""
        data = template_data(self.template_fields, message.text, hint, when, status, ask)
        try:
            result = await self.api.call(lambda c: c.message.send_template(chat_id, self.template_id, data))
        except CallFailure as exc:
            raise api_failure(exc, "template message") from exc
        if message.choices:
            # A template message has no buttons: the question is asked again when they next write.
            await self.chats.defer(self.channel, chat_id, message.to_payload())
        return f"tpl:{result.get('msgid', '')}"
