"""WeChat and WeCom callback messages (as dicts) -> neutral Inbound events. Translation only.

Event ids follow WeChat's advice for spotting its retries: the MsgId of a message; FromUserName and
CreateTime of an event (with the event's name and key, so two different clicks in one second both count).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.inbox_slots import waiting_on_the_network
from bot.wechat.chats import ChatStore
from handlers.messages import Identity, Inbound, Kind, Photo

# Menu keys (`baoxiu wechat menu`) -> commands; any other plain word is taken as a command of that name.
MENU_COMMANDS = {"repair": "repair", "mytickets": "mytickets", "office": "help"}
_WORD = re.compile(r"[a-z_]{1,30}")
FetchPhoto = Callable[[str, str], Awaitable[Photo]]


@dataclass(frozen=True)
class Unsupported:
    """A message the bot can't take (video, link, file ...): its sender gets a polite answer."""

    identity: Identity
    chat_id: str
    event_id: str
    msg_type: str


def event_id(msg: dict[str, str]) -> str:
    """The id that is the same on every retry of one message or event (at most 80 characters)."""
    if msg.get("MsgId"):
        value = "m" + msg["MsgId"]
    else:
        event = f"{msg.get('Event', '').lower()}:{msg.get('EventKey', '')}"
        value = f"e{msg.get('FromUserName', '')}:{msg.get('CreateTime', '')}:{event}"
    return value if len(value) <= 80 else "h" + hashlib.sha256(value.encode()).hexdigest()


def sender(msg: dict[str, str]) -> str:
    """The sender's openid (Official Account) or userid (WeCom)."""
    return msg.get("FromUserName", "")


class InboundTranslator:
    """Turns one app's callback messages into Inbound events for `channel`."""

    def __init__(self, channel: str, chats: ChatStore, fetch_photo: FetchPhoto, now: Callable[[], datetime]):
        self.channel = channel
        self.chats = chats
        self.fetch_photo = fetch_photo
        self.now = now

    async def translate(
        self, msg: dict[str, str], choices: dict[str, object] | None = None
    ) -> Inbound | Unsupported | None:
        """An Inbound, Unsupported (answer politely), or None (nothing to do: unsubscribe, view ...).

        `choices` is the chat's remembered choices when the caller has just read them (else they are read).
        """
        user = sender(msg)
        if not user:
            return None
        base: dict[str, Any] = {
            "identity": Identity(self.channel, user),
            "chat_id": user,
            "chat_type": "private",
            "event_id": event_id(msg),
            "at": self.now(),
        }
        msg_type = msg.get("MsgType", "").lower()
        if msg_type == "event":
            return self._event(msg, base)
        fields = await self._message(msg_type, msg, base, choices)
        if fields is None:
            return Unsupported(base["identity"], user, base["event_id"], msg_type)
        return Inbound(**base, **fields)

    async def _message(
        self, msg_type: str, msg: dict[str, str], base: dict[str, Any], choices: dict[str, object] | None
    ) -> dict[str, Any] | None:
        if msg_type == "text":
            return await self._text(msg.get("Content", ""), msg.get("bizmsgmenuid", ""), base, choices)
        if msg_type == "image":
            async with waiting_on_the_network():  # a slow download holds up no other chat's event
                photo = await self.fetch_photo(msg.get("MediaId", ""), msg.get("PicUrl", ""))
            return {"kind": Kind.PHOTO, "photo": photo}
        if msg_type == "location":
            return {
                "kind": Kind.LOCATION,
                "latitude": _number(msg.get("Location_X")),
                "longitude": _number(msg.get("Location_Y")),
            }
        if msg_type == "voice":
            recognised = msg.get("Recognition", "").strip()
            if recognised:
                # WeChat's speech recognition: the words count as typed text (the voice is kept as a ref).
                return {"kind": Kind.TEXT, "text": recognised, "voice_ref": msg.get("MediaId", "")}
            return {"kind": Kind.VOICE, "voice_ref": msg.get("MediaId", "")}
        return None

    async def _text(
        self, content: str, menu_item: str, base: dict[str, Any], choices: dict[str, object] | None
    ) -> dict[str, Any]:
        chat_id = base["chat_id"]
        button_fields = {"kind": Kind.BUTTON, "callback_id": "wx:" + base["event_id"]}
        if menu_item:
            data = await self.chats.menu_item(self.channel, chat_id, menu_item, choices)
            if data is not None:
                return {**button_fields, "button": data}
        text = content.strip()
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            return {"kind": Kind.COMMAND, "command": head.lower(), "args": args, "text": text}
        if text.isdigit() and len(text) <= 2:
            data = await self.chats.pick(self.channel, chat_id, int(text), choices)
            if data is not None:
                return {**button_fields, "button": data}
        return {"kind": Kind.TEXT, "text": content}

    def _event(self, msg: dict[str, str], base: dict[str, Any]) -> Inbound | None:
        event = msg.get("Event", "").lower()
        key = msg.get("EventKey", "")
        if event in ("subscribe", "scan"):
            # A QR code with a scene (an invite, "repair") arrives as /start with that payload.
            payload = key.removeprefix("qrscene_")
            return Inbound(**base, kind=Kind.COMMAND, command="start", args=payload, text="/start")
        if event == "click":
            command = MENU_COMMANDS.get(key) or (key if _WORD.fullmatch(key) else "")
            if not command:
                return None
            return Inbound(**base, kind=Kind.COMMAND, command=command, text="/" + command)
        if event == "template_card_event":
            return Inbound(**base, kind=Kind.BUTTON, button=key, callback_id="card:" + msg.get("TaskId", ""))
        return None  # unsubscribe, view, location reports, template send reports, enter_agent ...


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
