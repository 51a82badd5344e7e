"""Incidents: one failure many residents report, worked once through its first ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class Incident(Base):
    """An outage with one working ticket (`ticket_id`) and the tickets linked to it (`Ticket.incident_id`)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    # The ticket the technician works; unique, so two residents joining at once make one incident.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    eta_at: Mapped[datetime | None]
    last_update: Mapped[str] = mapped_column(Text, default="")
