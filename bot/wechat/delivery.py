"""Neutral Outbound -> WeChat: customer-service or template messages (residents), template cards (WeCom
staff), text to a WeCom group robot (supervisors). WeChat's errors are mapped for the outbox sender.

The outbox row records what went out in its channel message id: `cs:<n>` a customer-service message,
`tpl:<msgid>` a template message, `card:<id>` a WeCom template card, `msg:<msgid>` a WeCom message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import DeliveryError
from bot.wechat.chats import CardStore, ChatStore, menu_item_id
from bot.wechat.client import Api, ApiError, CallFailure, RobotClient, TransportError, errcode
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
TEXT_LIMIT = 1800  # characters per text message (WeChat's limit is 2048 bytes of content)
MENU_MAX = 10  # msgmenu items
CARD_BUTTONS = 6  # WeCom button_interaction cards
OUT_OF_WINDOW = 45015
# Codes meaning the whole app must wait (the sender pauses the channel): daily and per-minute API quotas,
# WeCom's concurrency limit. Per-person limits (45047: too many customer-service messages since the user's
# last message) are ordinary retries that hold back only that chat.
RETRY_AFTER = {45009: 1800.0, 45011: 60.0, 45033: 10.0}
CS_QUOTA = 45047
# Codes meaning this person can't be messaged: not a follower any more, unknown id, blocked us.
GONE = frozenset({40003, 43004, 43019, 43101, 60111, 81013, 82001})
# Codes meaning our request or configuration is wrong: retrying won't help.
PERMANENT = frozenset({40008, 40037, 41028, 41030, 44002, 45002, 47001, 48001, 40058, 40056})
MENU_UNAVAILABLE = frozenset({40008, 48001, 47001, 45002})
TICKET = re.compile(r"\b[A-Z][A-Z0-9]{0,9}-\d{8}-\d{3,}\b")
FIELD_LIMITS = (
    ("character_string", 32),
    ("thing", 20),
    ("phrase", 5),
    ("name", 10),
    ("car_number", 8),
    ("phone_number", 17),
    ("number", 32),
    ("letter", 32),
    ("amount", 32),
)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text split at line ends into messages WeChat accepts."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            candidate = line
        current = candidate
    if current or not out:
        out.append(current)
    return out


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


def template_data(spec: str, text: str, hint: str, when: str) -> dict[str, dict[str, str]]:
    """Template message fields from WECHAT_TEMPLATE_FIELDS, e.g. `first=title,keyword1=number,remark=hint`.

    Parts: title (first line), body (the other lines), text (all), number (the ticket number), time, hint;
    anything else is taken literally. Values are cut to WeChat's limits for the newer field types (thing 20,
    character_string 32 ...), else to 200 characters.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = lines[0] if lines else ""
    match = TICKET.search(text)
    parts = {
        "title": title,
        "body": " ".join(lines[1:]) or title,
        "text": " ".join(lines),
        "number": match.group(0) if match else "—",
        "time": when,
        "hint": hint,
    }
    data: dict[str, dict[str, str]] = {}
    for pair in spec.split(","):
        field, _, part = pair.partition("=")
        field, part = field.strip(), part.strip()
        if not field:
            continue
        value = parts.get(part, part)
        limit = next((n for prefix, n in FIELD_LIMITS if field.startswith(prefix)), 200)
        data[field] = {"value": cut(value, limit) or "—"}
    return data


@dataclass
class Reader:
    """Who reads a chat: their language and when they last wrote to us."""

    language: str
    last_seen_at: datetime | None


class _Base:
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


class OfficialAccountDelivery(_Base):
    """Residents (and anyone else who talks to us through the Official Account)."""

    channel = OA

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
        """Customer-service message inside the window, template message outside (or when WeChat says so)."""
        if message.kind == "answer" and not message.text:
            return None  # WeChat has no tap spinner to stop
        choices = flat(message)
        async with self.db.transaction() as session:
            reader = await self._reader(session, message.chat_id)
            # The choices are remembered before the message goes out, so that a quick tap finds them.
            seq = None
            if self.in_window(reader):
                data = [c.data for c in choices]
                seq = await self.chats.remember_in(session, self.channel, message.chat_id, data)
        t = Translator(reader.language)
        if seq is not None:
            try:
                return await self._customer_service(message, t, seq, choices)
            except ApiError as exc:
                if errcode(exc) != OUT_OF_WINDOW:
                    raise api_failure(exc, "customer-service message") from exc
                log.info(
                    "wechat: %s is outside the 48-hour window, trying a template message", message.chat_id
                )
            except TransportError as exc:
                raise api_failure(exc, "customer-service message") from exc
        if message.kind == "answer":
            return None  # a tap's short answer is not worth a template message
        return await self._template(message, t)

    async def _customer_service(
        self, message: Outbound, t: Translator, seq: int, choices: list[Choice]
    ) -> str:
        chat_id = message.chat_id
        for sha in message.photos[:9]:
            media_id = await self._upload(self.api, sha)
            if media_id:
                await self._image(chat_id, media_id)
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
        menu = {
            "head_content": cut(text, TEXT_LIMIT),
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
        data = template_data(self.template_fields, message.text, hint, when)
        try:
            result = await self.api.call(lambda c: c.message.send_template(chat_id, self.template_id, data))
        except CallFailure as exc:
            raise api_failure(exc, "template message") from exc
        if message.choices:
            # A template message has no buttons: the question is asked again when they next write.
            await self.chats.defer(self.channel, chat_id, message.to_payload())
        return f"tpl:{result.get('msgid', '')}"


TITLE_LIMIT = 36  # a card's main title, in characters (WeCom's advice)
BODY_LIMIT = 160  # its sub-title text


def _card_parts(text: str) -> tuple[str, str]:
    """Title and body of a card: the first line as title; when that is too long it also opens the body."""
    lines = [line for line in text.split("\n") if line.strip()] or ["—"]
    if len(lines[0]) <= TITLE_LIMIT:
        return lines[0], "\n".join(lines[1:])
    return cut(lines[0], TITLE_LIMIT), "\n".join(lines)


def card(text: str, choices: list[Choice], task_id: str, closed: str = "") -> dict[str, Any]:
    """A button_interaction template card: first line as title, the rest as text, choices as buttons."""
    title, rest = _card_parts(text)
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title},
        "task_id": task_id,
    }
    if rest:
        body["sub_title_text"] = cut(rest, BODY_LIMIT)
    if choices:
        body["button_list"] = [
            {"text": cut(c.label, 16), "style": 1 if i == 0 else 2, "key": c.data}
            for i, c in enumerate(choices)
        ]
    else:
        body["replace_text"] = closed
    return body


def fits_card(text: str) -> bool:
    """True when a card shows the whole text (else the text goes first as a message of its own)."""
    return len(_card_parts(text)[1]) <= BODY_LIMIT


class WeComDelivery(_Base):
    """Staff in the WeCom app: template cards for choices (offers, job card), text otherwise."""

    channel = WECOM

    def __init__(
        self,
        api: Api,
        db: Database,
        clock: Clock,
        media: MediaStore,
        chats: ChatStore,
        cards: CardStore,
        *,
        language: str,
    ) -> None:
        super().__init__(db, clock, media, chats, language)
        self.api = api
        self.cards = cards
        self.channel_ref: object = None

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Send, edit (update_template_card) or answer (a short text)."""
        try:
            return await self._deliver(message, edit_target)
        except CallFailure as exc:
            raise api_failure(exc, "wecom") from exc

    async def _deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        user = message.chat_id
        if message.kind == "answer":
            if message.text:
                await self._text(user, message.text)
            return None
        t = Translator((await self.reader(user)).language)
        if message.kind == "edit" and edit_target and edit_target.startswith("card:"):
            return await self._edit_card(message, edit_target.removeprefix("card:"), t)
        for sha in message.photos[:9]:
            media_id = await self._upload(self.api, sha)
            if media_id:
                await self._image(user, media_id)
        choices = flat(message)
        await self.chats.remember(self.channel, user, [c.data for c in choices])
        text = message.text
        if choices and len(choices) <= CARD_BUTTONS:
            return "card:" + await self._send_card(user, text, choices)
        msgid = ""
        for part in chunks(numbered(text, choices, t)):
            if part.strip():
                msgid = await self._text(user, part)
        return f"msg:{msgid}"

    async def _text(self, user: str, text: str) -> str:
        result = await self.api.call(lambda c: c.message.send_text(c.agent_id, user, text))
        return str(result.get("msgid", ""))

    async def _image(self, user: str, media_id: str) -> None:
        await self.api.call(lambda c: c.message.send_image(c.agent_id, user, media_id))

    async def _send_card(
        self, user: str, text: str, choices: list[Choice], card_id: str = "", gen: int = 0
    ) -> str:
        if not fits_card(text):
            await self._text(user, text)
        task_id = "bx_" + secrets.token_hex(12)
        result = await self.api.call(lambda c: c.send_card(user, card(text, choices, task_id)))
        await self.cards.add(user, task_id, card_id or task_id, str(result.get("response_code", "")), gen)
        return card_id or task_id

    async def _edit_card(self, message: Outbound, card_id: str, t: Translator) -> str:
        """update_template_card with the newest unused code; else a fresh card (or text) in its place."""
        user, choices = message.chat_id, flat(message)
        current = await self.cards.current(card_id)
        if current is not None and current.response_code and not current.code_used:
            body = card(message.text, choices, current.task_id, closed=t("Handled"))
            try:
                await self.api.call(lambda c: c.update_card(user, current.response_code, body))
            except ApiError as exc:
                log.info("wecom: card %s can't be updated (%s); sending it again", card_id, errcode(exc))
            else:
                await self.cards.use_code(current.task_id)
                await self.chats.remember(self.channel, user, [c.data for c in choices])
                return f"card:{card_id}"
        await self.chats.remember(self.channel, user, [c.data for c in choices])
        if choices and len(choices) <= CARD_BUTTONS:
            gen = current.generation + 1 if current is not None else 1
            await self._send_card(user, message.text, choices, card_id, gen)
        else:
            for part in chunks(numbered(message.text, choices, t)):
                if part.strip():
                    await self._text(user, part)
        return f"card:{card_id}"


class RobotDelivery:
    """The supervisors' WeCom group robot: escalation pings as text (a robot has no buttons)."""

    channel = ROBOT

    def __init__(self, robot: RobotClient) -> None:
        self.robot = robot

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Post the text, with the choices' labels listed (commands in the text do the rest)."""
        if message.kind != "send":
            return None
        lines = [message.text, *(f"• {c.label}" for c in flat(message))]
        try:
            await self.robot.send_text(cut("\n".join(lines), 2000))
        except ApiError as exc:
            raise api_failure(exc, "wecom robot") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"wecom robot: {type(exc).__name__}", outage=True) from exc
        return "robot:" + secrets.token_hex(4)
