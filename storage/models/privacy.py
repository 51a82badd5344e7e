"""Privacy records: who among the staff was shown a resident's phone number or full room, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ContactView(Base):
    """One showing of a resident's contact details to staff (job details, /ticket, a matter's card, export).

    `viewer_id` is empty for the office's own command line; `fields` says what was shown ("phone", "room").
    """

    __tablename__ = "contact_views"
    __table_args__ = (Index("ix_contact_views_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    viewer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    what: Mapped[str] = mapped_column(String(20))
    fields: Mapped[list[str]] = mapped_column(default=list)
    via: Mapped[str] = mapped_column(String(20), default="")
