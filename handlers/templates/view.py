"""What a notice template gets (the notice, its ticket, the reader's language), and the helpers they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.notices import Notice
from dispatch.privacy import audit
from dispatch.site import Community, format_duration
from dispatch.tokens import token_for
from handlers.buttons import ResidentTap, encode
from handlers.context import Services
from handlers.i18n import Translator
from handlers.labels import (
    HOLD_NAMES,
    REASONS,
    address_label,
    category_name,
    department_name,
    matter_kind_name,
    status_name,
    urgency_name,
)
from handlers.messages import Choice, Outbound
from storage.models import OutboxMessage, Person, Ticket
from storage.repositories import People


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
        """Number, category and urgency on one line (a matter: number, kind and department)."""
        tk = self.ticket
        if tk.kind == "matter":
            kind = matter_kind_name(tk.matter_kind, self.t)
            return f"{tk.number} · {kind} · {department_name(self.community, tk.department, self.lang)}"
        return (
            f"{tk.number} · {category_name(self.community, tk.category, self.lang)} · "
            f"{urgency_name(self.community, tk.urgency, self.lang)}"
        )

    def local(self, iso: str) -> str:
        """A stored ISO time in the community's clock."""
        return datetime.fromisoformat(iso).astimezone(self.community.timezone).strftime("%m-%d %H:%M")

    def audit(self, what: str, *, room: bool) -> None:
        """Record that this staff reader is shown the resident's phone (and full room when `room`)."""
        viewer = self.reader.id if self.reader else self.notice.person_id
        audit.record(
            self.session,
            viewer_id=viewer,
            ticket=self.ticket,
            what=what,
            fields=audit.shown(self.ticket, room=room),
            via=self.channel,
            now=self.services.clock.now(),
        )

    async def name(self, person_id: int | None) -> str:
        """A person's name."""
        person = await People(self.session).get(person_id) if person_id else None
        return person.name if person else ""


# A template renders one notice for one reader: a message, or None when there is nothing to say.
Template = Callable[[View], "Outbound | Awaitable[Outbound | None] | None"]


@dataclass
class NoticeView:
    """What a template of a notice about no ticket (a digest) gets: the notice and the reader's language."""

    notice: Notice
    t: Translator
    services: Services
    session: AsyncSession
    channel: str = ""
    chat_id: str = ""
    reader: Person | None = None


# The same for notices about no ticket; listed apart in the routing table (`Routes.ticketless`).
TicketlessTemplate = Callable[[NoticeView], "Outbound | Awaitable[Outbound | None] | None"]


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
    return status_name(view.ticket.status, view.t, view.ticket.kind)


async def resident_token(v: View) -> str:
    """The token behind this resident's buttons on this ticket."""
    return await token_for(v.session, "resident", v.ticket.id, v.ticket.resident_id, v.services.clock.now())


def reason(v: View) -> str:
    """The notice's reason in words."""
    code = str(v.notice.data.get("reason", ""))
    return v.t(REASONS.get(code, HOLD_NAMES.get(code, code)))


async def technician_name(v: View) -> str:
    """The holder's name."""
    return await v.name(v.ticket.technician_id) or v.t("the technician")


async def matter_answer_buttons(v: View) -> list[list[Choice]]:
    """Handled / Not handled, for the resident of a matter."""
    token = await resident_token(v)
    handled, not_handled = (encode(ResidentTap(token, ResidentTap.FIXED, a)) for a in ("yes", "no"))
    return [[Choice(handled, v.t("✅ Handled")), Choice(not_handled, v.t("❌ Not handled"))]]
