"""Neutral inbound events and outbound messages shared by every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What an inbound event carries."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    PHOTO = "photo"
    LOCATION = "location"
    CONTACT = "contact"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    EDITED = "edited"
    OTHER = "other"


@dataclass(frozen=True)
class Identity:
    """Who: a person's account on one channel."""

    channel: str
    external_id: str


@dataclass(frozen=True)
class Photo:
    """A photo as the adapter fetched it; `data` is None when it could not be fetched (see `problem`)."""

    data: bytes | None
    size: int | None = None
    file_ref: str = ""
    problem: str = ""  # "too_large" or "unavailable" when data is None


@dataclass(frozen=True)
class Inbound:
    """One event from a chat, translated from the channel's own format."""

    identity: Identity
    chat_id: str
    kind: Kind
    event_id: str
    at: datetime
    chat_type: str = "private"
    text: str = ""
    command: str = ""
    args: str = ""
    button: str = ""
    callback_id: str = ""
    photo: Photo | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone: str = ""
    contact_is_own: bool = False
    voice_ref: str = ""
    display_name: str = ""
    language_code: str = ""

    @property
    def is_private(self) -> bool:
        """True for a one-to-one chat with the bot."""
        return self.chat_type == "private"


@dataclass(frozen=True)
class Choice:
    """A button: opaque data and the label shown."""

    data: str
    label: str


@dataclass(frozen=True)
class Document:
    """A file to send (a chart's data, an export): its content hash in the media store and its file name."""

    ref: str
    name: str


class ReplyKeyboard(StrEnum):
    """Special keyboards some channels can show under the input field."""

    CONTACT = "contact"
    LOCATION = "location"
    REMOVE = "remove"


@dataclass
class Outbound:
    """One message to send, edit or answer; rendered text, stored in the outbox."""

    channel: str
    chat_id: str
    text: str = ""
    choices: list[list[Choice]] = field(default_factory=list)
    reply_keyboard: ReplyKeyboard | None = None
    keyboard_label: str = ""
    photos: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    ref: str = ""
    edit_ref: str = ""
    callback_id: str = ""
    important: bool = False

    @property
    def kind(self) -> str:
        """send, edit or answer (a button tap's short answer)."""
        if self.callback_id:
            return "answer"
        if self.edit_ref:
            return "edit"
        return "send"

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready payload for the outbox row."""
        return {
            "text": self.text,
            "choices": [[{"data": c.data, "label": c.label} for c in row] for row in self.choices],
            "reply_keyboard": self.reply_keyboard.value if self.reply_keyboard else None,
            "keyboard_label": self.keyboard_label,
            "photos": self.photos,
            "documents": [{"ref": d.ref, "name": d.name} for d in self.documents],
            "callback_id": self.callback_id,
        }

    @classmethod
    def from_row(
        cls, channel: str, chat_id: str, payload: dict[str, Any], ref: str = "", edit_ref: str = ""
    ) -> Outbound:
        """Rebuild from an outbox row."""
        kb = payload.get("reply_keyboard")
        return cls(
            channel=channel,
            chat_id=chat_id,
            text=payload.get("text", ""),
            choices=[[Choice(c["data"], c["label"]) for c in row] for row in payload.get("choices", [])],
            reply_keyboard=ReplyKeyboard(kb) if kb else None,
            keyboard_label=payload.get("keyboard_label", ""),
            photos=list(payload.get("photos", [])),
            documents=[Document(d["ref"], d["name"]) for d in payload.get("documents", [])],
            ref=ref,
            edit_ref=edit_ref,
            callback_id=payload.get("callback_id", ""),
        )
