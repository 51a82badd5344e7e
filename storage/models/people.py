"""People: residents and staff, their chat accounts and saved addresses, invites, bound group chats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


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
    # Set when the resident's personal data was erased at their request (dispatch/privacy/erasure.py).
    erased_at: Mapped[datetime | None]
    # The privacy notice version the resident agreed to, and when (dispatch/privacy/consent.py).
    consent_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    consent_at: Mapped[datetime | None]


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
