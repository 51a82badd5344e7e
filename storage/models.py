"""Typed SQLAlchemy models: people, tickets, conversations, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what comes back."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with our naming convention and type map."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Person(Base):
    """A resident or a member of staff; staff fields are empty for residents."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20), default="resident", index=True)
    language: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(32))
    community: Mapped[str | None] = mapped_column(String(40))
    skills: Mapped[list[str]] = mapped_column(default=list)
    areas: Mapped[list[str]] = mapped_column(default=list)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=8)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    duty_changed_at: Mapped[datetime | None]


class ChannelIdentity(Base):
    """One person's account on one channel (a person may have several)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    language_code: Mapped[str] = mapped_column(String(16), default="")
    last_seen_at: Mapped[datetime]


class Address(Base):
    """A resident's saved address, offered as a button next time."""

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("person_id", "community", "building", "unit", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    community: Mapped[str] = mapped_column(String(40))
    building: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    room: Mapped[str] = mapped_column(String(20))
    last_used_at: Mapped[datetime]


class Ticket(Base):
    """A repair request and where it stands."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_resident_created", "resident_id", "created_at"),
        # A technician's workload (candidates.rank) without reading their whole history.
        Index("ix_tickets_technician_assigned", "technician_id", "assigned_at"),
        Index("ix_tickets_technician_status", "technician_id", "status"),
        # Also by status alone. A supervisor's open tickets (/overdue) read only their own area's entries.
        Index("ix_tickets_status_area", "status", "community", "area"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    scope: Mapped[str] = mapped_column(String(10))
    building: Mapped[str | None] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(20))
    room: Mapped[str | None] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(40), default="")
    location_text: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    phone: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    voice_ref: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(20))
    preferred_window: Mapped[str] = mapped_column(String(100), default="")
    named_technician_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    # When each status was last entered (status -> ISO time); the event log has the full history.
    stamps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    arrival_code: Mapped[str] = mapped_column(String(8), default="")
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    contacted_at: Mapped[datetime | None]
    appointment_at: Mapped[datetime | None]
    appointment_moves: Mapped[int] = mapped_column(Integer, default=0)
    eta_at: Mapped[datetime | None]
    hold_reason: Mapped[str] = mapped_column(String(40), default="")
    hold_until: Mapped[datetime | None]
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    labour_minutes: Mapped[int] = mapped_column(Integer, default=0)
    materials: Mapped[str] = mapped_column(Text, default="")
    customer_materials: Mapped[str] = mapped_column(Text, default="")
    fixed: Mapped[bool | None]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")


class Quote(Base):
    """A price for paid work (有偿服务); the resident approves or declines before work goes on."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    items: Mapped[list[str]] = mapped_column(default=list)
    total_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(200), default="")


class FollowUp(Base):
    """A follow-up (回访) task for customer service and its recorded outcome."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    outcome: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class TicketCounter(Base):
    """The last number handed out per community and local day."""

    __tablename__ = "ticket_counters"

    community: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class TicketPhoto(Base):
    """A photo attached to a ticket, by content hash in the media store."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(10), default="before")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime]


class TicketEvent(Base):
    """Append-only log of everything that happened to a ticket."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Conversation(Base):
    """Where one chat stands in a dialog; read and written in the event's transaction."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    dialog: Mapped[str] = mapped_column(String(30), default="")
    step: Mapped[str] = mapped_column(String(30), default="")
    nonce: Mapped[str] = mapped_column(String(12), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class InboundEvent(Base):
    """Channel event ids already handled, so a repeated delivery has no second effect."""

    __tablename__ = "inbound_events"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    """A message to deliver, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_chat_ref", "channel", "chat_id", "ref"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]]
    ref: Mapped[str] = mapped_column(String(60), default="")
    edit_ref: Mapped[str] = mapped_column(String(60), default="")
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    channel_message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(String(300), default="")


class Offer(Base):
    """One copy of a grab offer: to a technician's private chat or to a group."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    token: Mapped[str] = mapped_column(String(24), unique=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    round: Mapped[str] = mapped_column(String(10), default="wide")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class Timer(Base):
    """A deadline as a row: written with the change that starts it, fired once by the sweep."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_pending_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]


class ActionToken(Base):
    """An opaque button id for staff actions (assign, job steps), re-authorised on every tap."""

    __tablename__ = "action_tokens"

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Invite(Base):
    """A one-time code that binds a chat to a staff member."""

    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class GroupBinding(Base):
    """A group chat bound to a purpose: the technicians' group or the supervisors' group."""

    __tablename__ = "group_bindings"
    __table_args__ = (UniqueConstraint("community", "channel", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    bound_at: Mapped[datetime]


# ----- production: delivery lanes, shared rate limits, inbound flood control -------------------------


class OutboxLane(Base):
    """One chat's delivery lane: the worker holding it (a lease) and when the chat may next get a message.

    A worker sends a chat's outbox rows only while it holds the lane's lease, so rows of one chat go out in
    order across workers. `next_send_at` is the per-chat rate limiter (GCRA theoretical arrival time);
    `paused_until` is set by a 429 from the channel.
    """

    __tablename__ = "outbox_lanes"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lease_owner: Mapped[str] = mapped_column(String(80), default="")
    lease_until: Mapped[datetime | None]
    next_send_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]


class RateLimit(Base):
    """A deployment-wide rate limit (a whole channel, e.g. Telegram's ~30 messages a second) and its pause."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_send_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]


class InboundRate(Base):
    """Flood control per sender: a GCRA time stamp and when the sender was last asked to slow down."""

    __tablename__ = "inbound_rates"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[datetime]
    warned_at: Mapped[datetime | None]


# The sender reads the oldest pending row of a chat; this index keeps that cheap with a big outbox.
Index("ix_outbox_lane", OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.id)


# ----- WeChat: the shared access-token cache, per-chat choices, WeCom template cards -----------------


class WeChatToken(Base):
    """An access token shared by every worker: one row per app, refreshed before it expires."""

    __tablename__ = "wechat_tokens"

    app: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]


class WeChatChat(Base):
    """A WeChat or WeCom chat: the choices of its latest messages (typed numbers and menu taps pick them)."""

    __tablename__ = "wechat_chats"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # str(seq) -> the choice data of that message (the newest few); "latest" -> the newest seq;
    # "deferred" -> questions that went out as template messages, asked again when the person writes.
    choices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class WeComCard(Base):
    """A WeCom template card as sent: WeCom's task id, the card id edits refer to, the code to update it."""

    __tablename__ = "wecom_cards"

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    card_id: Mapped[str] = mapped_column(String(128), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)  # a card re-sent in place of an old one: +1
    chat_id: Mapped[str] = mapped_column(String(64))
    response_code: Mapped[str] = mapped_column(Text, default="")
    code_used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
