"""A chat harness for tests: real router, real outbox and sender, a recording channel, a fake clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.channel import DeliveryError
from bot.outbox.sender import OutboxSender
from dispatch.clock import FakeClock
from handlers.context import Services
from handlers.messages import Choice, Document, Identity, Inbound, Kind, Outbound, Photo
from handlers.router import Router
from storage.db import Database
from storage.models import Ticket

CHANNEL = "test"
# 09:00 in Shanghai: office hours, so nothing is "tomorrow" by accident.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@dataclass
class Delivered:
    """One message as the user's app would show it."""

    chat_id: str
    text: str
    choices: list[Choice]
    message_id: str
    kind: str
    keyboard: str | None = None
    photos: list[str] = field(default_factory=list)
    edits: int = 0
    documents: list[Document] = field(default_factory=list)

    def labels(self) -> list[str]:
        """The button labels in order."""
        return [c.label for c in self.choices]


class RecordingDelivery:
    """A channel that records everything instead of sending it, like a phone would show it."""

    def __init__(self) -> None:
        self.messages: list[Delivered] = []
        self.by_id: dict[str, Delivered] = {}
        self.answers: list[tuple[str, str]] = []
        self.fail_next: list[DeliveryError] = []
        self._ids = itertools.count(1)

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Record one outbound message."""
        if self.fail_next:
            raise self.fail_next.pop(0)
        if message.kind == "answer":
            self.answers.append((message.callback_id, message.text))
            return None
        flat = [c for row in message.choices for c in row]
        if message.kind == "edit" and edit_target in self.by_id:
            shown = self.by_id[edit_target]
            shown.text, shown.choices, shown.edits = message.text, flat, shown.edits + 1
            return edit_target
        message_id = str(next(self._ids))
        keyboard = message.reply_keyboard.value if message.reply_keyboard else None
        shown = Delivered(
            message.chat_id,
            message.text,
            flat,
            message_id,
            message.kind,
            keyboard,
            message.photos,
            documents=message.documents,
        )
        self.messages.append(shown)
        self.by_id[message_id] = shown
        return message_id

    def chat(self, chat_id: str) -> list[Delivered]:
        """Messages shown in one chat, oldest first."""
        return [m for m in self.messages if m.chat_id == chat_id]


class Harness:
    """Drives people's chats through the real router and outbox."""

    def __init__(self, db: Database, services: Services, clock: FakeClock) -> None:
        self.db = db
        self.services = services
        self.clock = clock
        self.delivery = RecordingDelivery()
        self.sender = OutboxSender(db, {CHANNEL: self.delivery}, clock)
        self.router = Router(db, services, wake=lambda: None)
        self._events = itertools.count(1)

    def inbound(self, user: str, kind: Kind, *, chat_id: str | None = None, **fields: Any) -> Inbound:
        """An event from a user's private chat (or the given chat)."""
        fields.setdefault("language_code", "en")
        return Inbound(
            identity=Identity(CHANNEL, user),
            chat_id=chat_id or user,
            kind=kind,
            event_id=f"e{next(self._events)}",
            at=self.clock.now(),
            display_name=fields.pop("name", user),
            **fields,
        )

    async def deliver(self, inbound: Inbound) -> list[Delivered]:
        """Handle an event, run the sender, and return what appeared in that chat."""
        before = len(self.delivery.messages)
        await self.router.handle(inbound)
        await self.flush()
        return [m for m in self.delivery.messages[before:]]

    async def flush(self) -> None:
        """Deliver everything due in the outbox."""
        while await self.sender.run_once():
            pass

    async def say(self, user: str, text: str, **fields: Any) -> list[Delivered]:
        """The user types a message (a command when it starts with /)."""
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return await self.deliver(
                self.inbound(user, Kind.COMMAND, command=head, args=args, text=text, **fields)
            )
        return await self.deliver(self.inbound(user, Kind.TEXT, text=text, **fields))

    def last(self, user: str) -> Delivered:
        """The newest message in the user's private chat."""
        return self.delivery.chat(user)[-1]

    def texts(self, user: str) -> list[str]:
        """Every message text in the user's chat."""
        return [m.text for m in self.delivery.chat(user)]

    def find_choice(self, user: str, label: str) -> Choice:
        """The newest button in the user's chat whose label contains `label`."""
        for message in reversed(self.delivery.chat(user)):
            for choice in message.choices:
                if label in choice.label:
                    return choice
        raise AssertionError(f"no button {label!r} in {user}'s chat; last: {self.last(user)}")

    async def tap(self, user: str, label: str, **fields: Any) -> list[Delivered]:
        """The user taps the newest button whose label contains `label`."""
        choice = self.find_choice(user, label)
        return await self.tap_data(user, choice.data, **fields)

    async def tap_data(self, user: str, data: str, **fields: Any) -> list[Delivered]:
        """A tap carrying exactly this callback data (forged or stale ones included)."""
        cb = f"cb{next(self._events)}"
        return await self.deliver(self.inbound(user, Kind.BUTTON, button=data, callback_id=cb, **fields))

    async def photo(self, user: str, data: bytes | None, problem: str = "") -> list[Delivered]:
        """The user sends a photo (None data = too large to fetch)."""
        photo = Photo(data=data, size=len(data) if data else None, problem=problem)
        return await self.deliver(self.inbound(user, Kind.PHOTO, photo=photo))

    async def send(self, user: str, kind: Kind, **fields: Any) -> list[Delivered]:
        """Any other kind of event."""
        return await self.deliver(self.inbound(user, kind, **fields))


async def add_staff(
    h: Harness,
    name: str,
    role: str = "technician",
    *,
    user: str | None = None,
    skills: tuple[str, ...] = ("plumbing_electric",),
    areas: tuple[str, ...] = (),
    capacity: int = 8,
    language: str = "en",
    community: str | None = None,
) -> int:
    """Register a member of staff reachable in the test channel as `user` (default: their name)."""
    from dispatch import staff

    async with h.db.transaction() as session:
        person = await staff.add(
            session,
            role=staff.parse_role(role),
            name=name,
            now=h.clock.now(),
            skills=skills if role == "technician" else (),
            areas=areas,
            capacity=capacity,
            community=community,
        )
        person.language = language
        await staff.bind_identity(session, person, CHANNEL, user or name, user or name, now=h.clock.now())
        return person.id


async def file_and_dispatch(
    session: AsyncSession,
    services: Services,
    resident_id: int,
    description: str,
    now: datetime,
    language: str = "en",
) -> Ticket:
    """A plumbing ticket for flat 1-1-1203 filed and dispatched in this transaction, as intake does."""
    from dispatch.notices import Notices
    from dispatch.offers.pool import dispatch_ticket
    from dispatch.tickets import Draft, submit
    from handlers.outbox import write_outbox
    from handlers.routes import build_routes
    from handlers.templates.render import render

    community = services.site.default
    draft = Draft(
        community=community.code,
        scope="in_unit",
        phone="13812345678",
        description=description,
        category="plumbing",
        urgency="normal",
        building="1",
        unit="1",
        room="1203",
    )
    ticket = await submit(session, community, resident_id, draft, now=now, language=language)
    notices = Notices()
    await dispatch_ticket(session, community, ticket, now, notices)
    await write_outbox(session, await render(session, services, notices, build_routes().templates), now)
    return ticket
