"""Tickets and what hangs off one: events, photos, quotes, follow-ups, offers, timers, button tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class Ticket(Base):
    """A request and where it stands: a repair (报修), or a matter (报事: complaint, suggestion ...)."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_resident_created", "resident_id", "created_at"),
        # A technician's workload (candidates.rank) without reading their whole history.
        Index("ix_tickets_technician_assigned", "technician_id", "assigned_at"),
        Index("ix_tickets_technician_status", "technician_id", "status"),
        # Also by status alone. A supervisor's open tickets (/overdue) read only their own area's entries.
        Index("ix_tickets_status_area", "status", "community", "area"),
        # A department's open matters (/matters) without reading the repairs.
        Index("ix_tickets_department_status", "department", "status"),
        # The figures of a period (dispatch/figures): a community's tickets, or everyone's, by when filed;
        # the second also holds what recurring faults are counted by, so that count reads the index alone.
        Index("ix_tickets_community_created", "community", "created_at"),
        Index("ix_tickets_created", "created_at", "community", "building", "unit", "room", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="repair", server_default="repair")
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
    # Where the request came from: the channel it was filed on (telegram, wechat, console ...).
    source: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Who found the fault: a resident, or staff on their rounds ("patrol"), who is then not asked to confirm.
    origin: Mapped[str] = mapped_column(String(10), default="resident", server_default="resident")
    # The incident this ticket is part of: its working ticket, or a report linked to it.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", use_alter=True), index=True)
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
    # Matters (kind "matter"): what it is, the department that answers for it, the member of staff handling
    # it, whether the resident stays unnamed to staff, and a member of staff a complaint is about (who never
    # sees it).
    matter_kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    department: Mapped[str] = mapped_column(String(40), default="", server_default="")
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    about_staff_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # Planned maintenance (dispatch/planned): the asset and occurrence a planned ticket was opened for,
    # unique so that one occurrence opens one ticket however many workers try; and the ticket another was
    # opened from (a repair opened by a failed checklist item points at its planned ticket).
    plan_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)


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
    """A deadline as a row: written with the change that starts it, fired once by the sweep.

    A ticket's deadlines have a ticket; a scheduled job's occurrence (dispatch/schedules.py) has none but a
    unique `key`, so that each occurrence is written once however many workers try.
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_pending_due", "status", "due_at"),
        Index("ix_timers_key", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(120))
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
