"""Residents' data rights in chat: /mydata gives them everything held as one file, /forgetme erases it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from storage.models import Person, Ticket, TicketEvent
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff
from tests.support.privacy import files_holding, rows_holding, stored_files

R, OTHER = "7001", "7002"
NAME = "王小明"
PHONE = "13812345678"
OTHER_PHONE = "13900001111"


async def _file_as(h: Harness, user: str, phone: str, photos: int = 1) -> None:
    """A resident files a request with their own phone (the shared journey types 13812345678)."""
    await h.say(user, "/help", name=NAME if user == R else "李四")
    await file_ticket(h, user, photos=photos)
    if phone != PHONE:
        async with h.db.transaction() as s:
            ticket = (await s.execute(select(Ticket).order_by(Ticket.id.desc()))).scalars().first()
            assert ticket is not None
            ticket.phone = phone
            resident = await s.get(Person, ticket.resident_id)
            assert resident is not None
            resident.phone = phone


async def _cancel_latest(h: Harness, user: str) -> None:
    await h.say(user, "/mytickets")
    await h.tap(user, "BX-")
    await h.tap(user, "Cancel this request")
    await h.tap(user, "myself")


def _zip_of(h: Harness, user: str) -> zipfile.ZipFile:
    message = h.last(user)
    assert len(message.documents) == 1 and message.documents[0].name.endswith(".zip")
    return zipfile.ZipFile(io.BytesIO(h.services.media.read(message.documents[0].ref)))


async def test_mydata_is_a_zip_of_the_residents_own_tickets_and_photos(harness: Harness) -> None:
    h = harness
    await _file_as(h, R, PHONE)
    await _file_as(h, OTHER, OTHER_PHONE)
    await h.say(R, "/mydata")
    assert "Everything we hold about you" in h.last(R).text
    archive = _zip_of(h, R)
    data = json.loads(archive.read("data.json"))
    assert data["profile"]["name"] == NAME and data["profile"]["phone"] == PHONE
    assert [t["number"] for t in data["tickets"]] == ["BX-20261123-0001"]
    assert data["tickets"][0]["phone"] == PHONE and data["tickets"][0]["address"]["room"] == "1203"
    assert any(e["kind"] == "submitted" or e["to"] == "submitted" for e in data["tickets"][0]["events"])
    assert data["addresses"] and data["addresses"][0]["room"] == "1203"
    # No one else's data: not their phone, not their ticket.
    raw = archive.read("data.json").decode()
    assert OTHER_PHONE not in raw and "BX-20261123-0002" not in raw
    photos = [n for n in archive.namelist() if n.startswith("photos/BX-20261123-0001/")]
    assert len(photos) == 1


async def test_mydata_and_forgetme_are_for_residents_only(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await h.say("Zhang", "/mydata")
    assert "for residents" in h.last("Zhang").text and not h.last("Zhang").documents
    await h.say("Zhang", "/forgetme")
    assert "for residents" in h.last("Zhang").text
    async with h.db.transaction() as s:
        zhang = (await s.execute(select(Person).where(Person.name == "Zhang"))).scalar_one()
        assert zhang.active and zhang.erased_at is None


async def test_forgetme_waits_for_open_requests(harness: Harness) -> None:
    h = harness
    await _file_as(h, R, PHONE)
    await h.say(R, "/forgetme")
    assert "open requests: BX-20261123-0001" in h.last(R).text and not h.last(R).choices
    assert await rows_holding(h.db, PHONE)


async def test_forgetme_erases_the_resident_and_keeps_the_offices_counts(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await _file_as(h, R, PHONE)
    await h.tap("Zhang", "Accept")  # the technician's job details carry the phone and room
    await _cancel_latest(h, R)
    # The other resident's photo is the same picture as ours (one file by content hash) in the first request.
    await _file_as(h, OTHER, OTHER_PHONE, photos=0)
    await h.say(R, "/mydata")
    media = tmp_path / "media"
    before_files = stored_files(media)
    own = {p["sha256"] for p in json.loads(_zip_of(h, R).read("data.json"))["tickets"][0]["photos"]}
    counts_before = await _counts(h)
    assert await rows_holding(h.db, PHONE) and await rows_holding(h.db, NAME)

    await h.say(R, "/forgetme")
    assert "Erase your data?" in h.last(R).text
    await h.tap(R, "Erase my data")
    assert "your data is erased" in h.last(R).text

    for needle in (PHONE, NAME, "1-1-1203"):
        assert await rows_holding(h.db, needle) == [], needle
    assert not files_holding(media, PHONE.encode())
    gone = before_files - stored_files(media)
    assert {name.split(".")[0] for name in gone} >= own and len(gone) == 2  # the photo and the /mydata file
    assert await _counts(h) == counts_before
    async with h.db.transaction() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.number == "BX-20261123-0001"))).scalar_one()
        assert ticket.room is None and ticket.phone == "" and ticket.building == "1"
        kinds = [
            e.kind
            for e in (
                await s.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
            ).scalars()
        ]
        assert kinds[-1] == "erased"
    await add_staff(h, "Boss", "supervisor")
    await h.say("Boss", "/ticket BX-20261123-0001")
    record = h.last("Boss").text
    assert "Personal details erased at the resident's request" in record and PHONE not in record
    # The other resident keeps everything.
    assert await rows_holding(h.db, OTHER_PHONE)
    # Found again by neither chat id nor phone: the same chat now starts as a stranger with nothing held.
    await h.say(R, "/mytickets")
    assert "no repair requests" in h.last(R).text
    await h.say(R, "/forgetme")
    assert "nothing to erase" in h.last(R).text
    assert await rows_holding(h.db, OTHER_PHONE)


async def test_forgetme_keep_or_a_forged_button_erases_nothing(harness: Harness) -> None:
    h = harness
    await _file_as(h, R, PHONE)
    await _cancel_latest(h, R)
    await h.say(R, "/forgetme")
    erase = h.find_choice(R, "Erase my data").data
    await h.tap_data(R, erase[:-1] + ("9" if erase[-1] != "9" else "8"))
    assert "no longer valid" in h.last(R).text or "couldn't read" in h.last(R).text
    await h.tap(R, "Keep it")
    assert "Nothing was erased" in h.last(R).text
    await h.tap_data(R, erase)  # the old question's button, after it was answered
    assert await rows_holding(h.db, PHONE)
    async with h.db.transaction() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.erased_at.is_not(None))) == 0
        )


async def _counts(h: Harness) -> list[tuple[object, ...]]:
    """What the office counts tickets by."""
    async with h.db.transaction() as s:
        stmt = select(
            Ticket.number,
            Ticket.status,
            Ticket.category,
            Ticket.urgency,
            Ticket.building,
            Ticket.unit,
            Ticket.created_at,
            Ticket.technician_id,
            Ticket.rating,
            Ticket.fee_cents,
        ).order_by(Ticket.id)
        return [tuple(row) for row in (await s.execute(stmt)).all()]
