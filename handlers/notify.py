"""Turn domain notices into messages, each in its reader's language, on the app they used last."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from dispatch.notices import Notice
from dispatch.site import Community, format_duration
from handlers.context import Services
from handlers.i18n import Translator
from handlers.labels import address_label, category_name, status_name, urgency_name
from handlers.messages import Choice, Outbound
from storage.models import Base, ChannelIdentity, OutboxMessage, Person, Ticket
from storage.repositories import People

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Base)


@dataclass
class View:
    """What a template needs: the notice, its ticket, the reader's translator and the community."""

    notice: Notice
    ticket: Ticket
    t: Translator
    community: Community
    services: Services
    session: AsyncSession
    channel: str = ""
    chat_id: str = ""
    reader: Person | None = None

    @property
    def lang(self) -> str:
        """The reader's language."""
        return self.t.language

    def where(self, *, private: bool = False) -> str:
        """Address for staff; the room number only in a private message to the holder."""
        tk = self.ticket
        if tk.scope == "public":
            return self.t("Public area: {place}", place=tk.location_text)
        return address_label(self.community, tk.building, tk.unit, tk.room, self.lang, with_room=private)

    def headline(self) -> str:
        """Number, category and urgency on one line."""
        tk = self.ticket
        return (
            f"{tk.number} · {category_name(self.community, tk.category, self.lang)} · "
            f"{urgency_name(self.community, tk.urgency, self.lang)}"
        )

    def local(self, iso: str) -> str:
        """A stored ISO time in the community's clock."""
        return datetime.fromisoformat(iso).astimezone(self.community.timezone).strftime("%m-%d %H:%M")

    async def name(self, person_id: int | None) -> str:
        """A person's name."""
        person = await People(self.session).get(person_id) if person_id else None
        return person.name if person else ""


Template = Callable[[View], "Outbound | None"]
TEMPLATES: dict[str, Callable[[View], object]] = {}


def template(kind: str) -> Callable[[Callable[[View], object]], Callable[[View], object]]:
    """Register the renderer of a notice kind."""

    def register(fn: Callable[[View], object]) -> Callable[[View], object]:
        TEMPLATES[kind] = fn
        return fn

    return register


async def render(session: AsyncSession, services: Services, notices: list[Notice]) -> list[Outbound]:
    """Messages for notices, addressed and translated; notices with no reachable reader are logged."""
    out: list[Outbound] = []
    readers, reach, tickets = await _load(session, notices)
    for notice in notices:
        reader = readers.get(notice.person_id) if notice.person_id else None
        if notice.has_chat:
            channel, chat_id = notice.channel, notice.chat_id
        else:
            identities = reach.get(notice.person_id, []) if notice.person_id else []
            if not identities:
                log.warning("notice %s for person %s: no chat to reach them", notice.kind, notice.person_id)
                continue
            channel, chat_id = identities[0].channel, identities[0].chat_id
        ticket = tickets.get(notice.ticket_id) if notice.ticket_id else None
        if ticket is None:
            continue
        community = services.site.community(ticket.community) or services.site.default
        view = View(
            notice,
            ticket,
            Translator(_language(reader, services)),
            community,
            services,
            session,
            channel,
            chat_id,
            reader,
        )
        fn = TEMPLATES.get(notice.kind)
        if fn is None:
            log.error("no template for notice %s", notice.kind)
            continue
        result = fn(view)
        if hasattr(result, "__await__"):
            result = await result
        if isinstance(result, Outbound):
            result.channel, result.chat_id = channel, chat_id
            out.append(result)
    return out


async def _load(
    session: AsyncSession, notices: list[Notice]
) -> tuple[dict[int, Person], dict[int, list[ChannelIdentity]], dict[int, Ticket]]:
    """Readers, their chats (most recently seen first) and tickets of all notices: three queries, not three
    per notice (a sweep renders hundreds)."""
    person_ids = {n.person_id for n in notices if n.person_id}
    unaddressed = {n.person_id for n in notices if n.person_id and not n.has_chat}
    ticket_ids = {n.ticket_id for n in notices if n.ticket_id}
    # Readers and tickets this transaction already holds (ranking loads every technician it offers a job to)
    # are taken as they are: a query would return the same objects, untouched, at 0.07 ms a row.
    readers: dict[int, Person] = _held(session, Person, person_ids)
    tickets: dict[int, Ticket] = _held(session, Ticket, ticket_ids)
    reach: dict[int, list[ChannelIdentity]] = {}
    if missing := person_ids - readers.keys():
        for person in (await session.execute(select(Person).where(Person.id.in_(missing)))).scalars():
            readers[person.id] = person
    if unaddressed:  # a notice addressed to a chat needs no account to reach its reader
        stmt = (
            select(ChannelIdentity)
            .where(ChannelIdentity.person_id.in_(unaddressed))
            .order_by(ChannelIdentity.last_seen_at.desc(), ChannelIdentity.id)
        )
        for identity in (await session.execute(stmt)).scalars():
            reach.setdefault(identity.person_id, []).append(identity)
    if missing := ticket_ids - tickets.keys():
        for ticket in (await session.execute(select(Ticket).where(Ticket.id.in_(missing)))).scalars():
            tickets[ticket.id] = ticket
    return readers, reach, tickets


def _held(session: AsyncSession, model: type[M], ids: set[int]) -> dict[int, M]:
    """The objects of `model` with these ids that the session holds fully loaded."""
    held: dict[int, M] = {}
    identity_map = session.sync_session.identity_map
    for id_ in ids:
        found = identity_map.get(Session.identity_key(model, id_))
        if isinstance(found, model) and not inspect(found).expired_attributes:
            held[id_] = found
    return held


def _language(reader: Person | None, services: Services) -> str:
    return (reader.language if reader and reader.language else None) or services.default_language


def message(text: str, *, choices: list[list[Choice]] | None = None, **kwargs: object) -> Outbound:
    """An Outbound whose address is filled in by render()."""
    return Outbound(channel="", chat_id="", text=text, choices=choices or [], **kwargs)  # type: ignore[arg-type]


async def in_place(view: View, ref: str, message_: Outbound) -> Outbound:
    """Edit the chat's earlier message with this ref when there is one, else send it with the ref."""
    stmt = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.channel == view.channel,
            OutboxMessage.chat_id == view.chat_id,
            OutboxMessage.ref == ref,
            OutboxMessage.status.in_(["pending", "sent"]),
        )
        .limit(1)
    )
    if (await view.session.execute(stmt)).first() is not None:
        message_.edit_ref = ref
    else:
        message_.ref = ref
    return message_


def local_time(view: View, iso_or_dt: object) -> str:
    """A time in the community's clock, as 11-24 14:00."""
    when = datetime.fromisoformat(iso_or_dt) if isinstance(iso_or_dt, str) else iso_or_dt
    if not isinstance(when, datetime):
        return ""
    return when.astimezone(view.community.timezone).strftime("%m-%d %H:%M")


def duration(view: View, attr: str) -> str:
    """One of the ticket urgency's limits in words."""
    urgency = view.community.urgency(view.ticket.urgency) or view.community.default_urgency
    return format_duration(getattr(urgency, attr), view.lang)


def status_words(view: View) -> str:
    """The ticket's status in the reader's language."""
    return status_name(view.ticket.status, view.t)
