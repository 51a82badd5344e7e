"""Neutral Outbound -> WeCom: template cards and messages to staff in the WeCom app, and text to the
supervisors' group robot. The shared rules (the outbox's error mapping, cutting, choices) are in
bot/wechat/oa_outbound.py.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import httpx

from bot.outbox.channel import DeliveryError
from bot.wechat.chats import CardStore, ChatStore
from bot.wechat.client import Api, ApiError, CallFailure, RobotClient, errcode
from bot.wechat.oa_outbound import (
    CARD_BUTTONS,
    ROBOT,
    WECOM,
    BaseDelivery,
    api_failure,
    cut,
    flat,
    numbered,
)
from bot.wechat.text import TEXT_BYTES, chunks, cut_bytes
from dispatch.clock import Clock
from handlers.i18n import Translator
from handlers.messages import Choice, Outbound
from storage.db import Database
from storage.media import MediaStore

log = logging.getLogger(__name__)


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


class WeComDelivery(BaseDelivery):
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
        for document in message.documents:
            media_id = await self._upload_file(self.api, document.ref, document.name)
            if media_id:
                await self._file(user, media_id)
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

    async def _file(self, user: str, media_id: str) -> None:
        await self.api.call(lambda c: c.message.send_file(c.agent_id, user, media_id))

    async def _image(self, user: str, media_id: str) -> None:
        await self.api.call(lambda c: c.message.send_image(c.agent_id, user, media_id))

    async def _send_card(
        self, user: str, text: str, choices: list[Choice], card_id: str = "", gen: int = 0
    ) -> str:
        if not fits_card(text):
            for part in chunks(text):
                await self._text(user, part)
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
            await self.robot.send_text(cut_bytes("\n".join(lines), TEXT_BYTES))
        except ApiError as exc:
            raise api_failure(exc, "wecom robot") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"wecom robot: {type(exc).__name__}", outage=True) from exc
        return "robot:" + secrets.token_hex(4)
