"""The daily retention job: photos, then phones and rooms, of tickets finished long enough ago, and nothing
else; one run a day for the deployment, with what it removed in the log."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch import schedules
from dispatch.privacy import retention
from storage.models import Ticket, TicketPhoto, Timer
from tests.support.dialogs import file_ticket, tick
from tests.support.harness import Harness
from tests.support.privacy import stored_files

OLD, NEW = "r-old", "r-new"
RULES = retention.Retention(photos_days=90, contacts_days=120)


async def _cancel(h: Harness, user: str) -> None:
    await h.say(user, "/mytickets")
    await h.tap(user, "BX-")
    await h.tap(user, "Cancel this request")
    await h.tap(user, "myself")


async def _tickets(h: Harness) -> dict[str, tuple[str, str | None, int]]:
    """number -> (phone, room, photos)."""
    async with h.db.transaction() as s:
        found = {}
        for t in (await s.execute(select(Ticket).order_by(Ticket.id))).scalars():
            photos = (
                (await s.execute(select(TicketPhoto).where(TicketPhoto.ticket_id == t.id))).scalars().all()
            )
            found[t.number] = (t.phone, t.room, len(photos))
        return found


async def test_retention_removes_only_what_is_due(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO, logger="dispatch.privacy.retention")
    await file_ticket(h, OLD, photos=1)
    await _cancel(h, OLD)
    h.clock.advance(timedelta(days=100))
    await file_ticket(h, NEW, photos=1)  # the same picture: one file, two tickets
    old_number, new_number = list(await _tickets(h))
    h.services.calendar = retention.calendar(RULES, h.services.media, h.services.site.default.timezone)
    async with h.db.transaction() as s:
        await schedules.prepare(s, h.services.calendar, h.clock.now())

    await tick(h, 24 * 60)  # the next 03:30 has passed: day 100 after the cancellation
    found = await _tickets(h)
    assert found[old_number] == ("13812345678", "1203", 0)  # photos are due (90 days), contacts not (120)
    assert found[new_number] == ("13812345678", "1203", 1)  # open: untouched
    assert len(stored_files(tmp_path / "media")) == 1  # the open ticket still holds the file
    assert "removed 1 photos (0 files) and the contacts of 0 tickets" in caplog.text

    caplog.clear()
    await _cancel(h, NEW)
    await tick(h, 30 * 24 * 60)  # day 131 for the old ticket, 30 days for the new one
    found = await _tickets(h)
    assert found[old_number] == ("", None, 0)
    assert found[new_number] == ("13812345678", "1203", 1)
    assert "removed 0 photos (0 files) and the contacts of 1 tickets" in caplog.text

    await tick(h, 61 * 24 * 60)  # the new ticket finished 91 days ago: its photo and now the file go
    found = await _tickets(h)
    assert found[new_number] == ("13812345678", "1203", 0)
    assert not [n for n in stored_files(tmp_path / "media") if n.endswith(".jpg")]
    async with h.db.transaction() as s:
        keys = [t.key for t in (await s.execute(select(Timer).where(Timer.kind == retention.KIND))).scalars()]
        fired = (
            (await s.execute(select(Timer).where(Timer.kind == retention.KIND, Timer.status == "fired")))
            .scalars()
            .all()
        )
    assert (
        len(keys) == len(set(keys)) and len(fired) == 3
    )  # one run per sweep that found a day due, never twice


async def test_mydata_archives_go_after_a_week_whatever_the_settings(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO, logger="dispatch.privacy.retention")
    await file_ticket(h, OLD, photos=0)
    await h.say(OLD, "/mydata")
    first = h.last(OLD).documents[0].ref
    h.clock.advance(timedelta(days=6))
    await h.say(OLD, "/mydata")
    second = h.last(OLD).documents[0].ref
    keep_all = retention.Retention(photos_days=0, contacts_days=0)
    h.services.calendar = retention.calendar(keep_all, h.services.media, h.services.site.default.timezone)
    async with h.db.transaction() as s:
        await schedules.prepare(s, h.services.calendar, h.clock.now())
    await tick(h, 2 * 24 * 60)  # the first archive is 8 days old, the second 2
    assert not h.services.media.exists(first) and h.services.media.exists(second)
    assert "1 old /mydata archives" in caplog.text
    assert (await _tickets(h))["BX-20261123-0001"] == ("13812345678", "1203", 0)  # tickets keep everything
