"""The intake dialog through the real router and outbox, with a fake clock."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.messages import Kind
from storage.models import Conversation, Ticket, TicketEvent, TicketPhoto
from tests.support.dialogs import U, file_ticket
from tests.support.harness import Harness


async def test_whole_intake_files_one_ticket(harness: Harness) -> None:
    text = await file_ticket(harness, photos=2)
    assert "BX-20261123-0001" in text
    async with harness.db.transaction() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
        photos = (await s.execute(select(TicketPhoto))).scalars().all()
        events = (await s.execute(select(TicketEvent))).scalars().all()
        conv = (await s.execute(select(Conversation).where(Conversation.chat_id == U))).scalar_one()
    assert (ticket.building, ticket.unit, ticket.room, ticket.scope) == ("1", "1", "1203", "in_unit")
    assert ticket.phone == "13812345678"
    assert ticket.description == "厨房水管爆管了，水漫一地"
    assert ticket.urgency == "emergency" and ticket.status == "submitted"
    assert len(photos) == 2 and all(harness.services.media.exists(p.sha256) for p in photos)
    # No staff registered in this test: the ticket is queued honestly, not offered to nobody.
    assert [e.kind for e in events] == ["submitted", "queued"]
    assert conv.dialog == "" and conv.data == {}


async def test_second_ticket_offers_saved_address_and_phone(harness: Harness) -> None:
    await file_ticket(harness, photos=0)
    await harness.say(U, "/repair")
    labels = harness.last(U).labels()
    assert labels[0] == "Building 1 Unit 1 1203"
    await harness.tap(U, "Building 1 Unit 1 1203")
    assert "13812345678" in harness.last(U).labels()[0]
    await harness.tap(U, "13812345678")
    assert "describe" in harness.last(U).text or "描述" in harness.last(U).text


async def test_numbers_are_sequential_per_day(harness: Harness) -> None:
    first = await file_ticket(harness, user="a", photos=0)
    second = await file_ticket(harness, user="b", photos=0)
    assert "BX-20261123-0001" in first and "BX-20261123-0002" in second


async def test_resume_after_silence_keeps_the_draft(harness: Harness) -> None:
    await harness.say(U, "报修")
    await harness.tap(U, "My home")
    await harness.tap(U, "Building 2")
    harness.clock.advance(__import__("datetime").timedelta(hours=5))
    await harness.say(U, "/start")
    await harness.tap(U, "Continue")
    assert "Building 2" in harness.last(U).text


async def test_cancel_leaves_at_any_step(harness: Harness) -> None:
    await harness.say(U, "报修")
    await harness.tap(U, "Public area")
    replies = await harness.say(U, "/cancel")
    assert "Nothing was filed" in replies[-1].text or "没有" in replies[-1].text
    async with harness.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0


async def test_public_area_by_location_pin(harness: Harness) -> None:
    await harness.say(U, "报修")
    await harness.tap(U, "Public area")
    await harness.send(U, Kind.LOCATION, latitude=22.54, longitude=114.05)
    assert harness.last(U).keyboard == "contact"


async def test_duplicate_event_has_no_second_effect(harness: Harness) -> None:
    inbound = harness.inbound(U, Kind.TEXT, text="报修")
    first = await harness.deliver(inbound)
    second = await harness.deliver(inbound)
    assert first and second == []
