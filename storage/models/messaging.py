"""Messages in and out: conversations, the inbound log, flood control, the outbox, its lanes and limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


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


class InboxEvent(Base):
    """A raw event from a webhook or callback, committed before the answer and handled afterwards.

    Deleted once handled; a row still here after its lease ran out (its worker died) is handled by any
    worker's sweep. (channel, event_id) is unique, so a delivery repeated while the first waits is dropped.
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "event_id"), Index("ix_inbox_lease", "lease_until"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(80))
    chat_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    lease_owner: Mapped[str] = mapped_column(String(80), default="")
    lease_until: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)


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
    # When a send that must go out at most once (one later edited in place: an offer, a card) was handed to
    # the channel; still pending with this set, it was in flight when its worker stopped.
    sending_at: Mapped[datetime | None]


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
