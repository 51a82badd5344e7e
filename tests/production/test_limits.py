"""Inbound limits: a flooding resident is slowed with one polite message; a daily cap on open tickets
stops accidental duplicates and offers to add to an open ticket instead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from handlers.flood import InboundLimits
from handlers.router import Router
from storage.models import Ticket, TicketEvent
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness

SLOW_DOWN = "faster than I can read"


def limited(h: Harness, **limits: float) -> Harness:
    h.router = Router(h.db, h.services, wake=lambda: None, limits=InboundLimits(**limits))  # type: ignore[arg-type]
    return h


async def test_a_flood_gets_one_polite_message_and_the_bot_recovers(harness: Harness) -> None:
    h = limited(harness, flood_burst=15, flood_per_minute=30)
    replies = []
    for i in range(30):  # thirty messages in ten seconds
        replies += await h.say("42", f"hello {i}")
        h.clock.advance(timedelta(seconds=1 / 3))
    polite = [m for m in replies if SLOW_DOWN in m.text]
    assert len(polite) == 1
    menus = [m for m in replies if "What would you like to do?" in m.text]
    assert 15 <= len(menus) <= 20  # the burst, plus what the rate allows in ten seconds
    assert all(m.chat_id == "42" for m in replies)
    # Someone else is not affected.
    assert any("What would you like to do?" in m.text for m in await h.say("43", "hello"))
    # After a quiet minute, the resident is served again without another warning.
    h.clock.advance(timedelta(minutes=1))
    again = await h.say("42", "hello again")
    assert any("What would you like to do?" in m.text for m in again)
    assert not any(SLOW_DOWN in m.text for m in again)


async def test_throttled_taps_are_still_answered(harness: Harness) -> None:
    h = limited(harness, flood_burst=2, flood_per_minute=1)
    await h.say("42", "hi")
    await h.say("42", "hi")
    await h.tap_data("42", "c:xx:0")
    await h.tap_data("42", "c:xx:1")
    assert len(h.delivery.answers) == 2  # no spinner is left turning


async def test_daily_cap_offers_to_add_to_the_open_ticket(harness: Harness) -> None:
    h = limited(harness, max_open_per_day=1)
    await file_ticket(h, "77", photos=0)
    async with h.db.transaction() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
    number = ticket.number
    for start in ("/repair", "报修"):
        refused = await h.say("77", start)
        assert any("open requests from today" in m.text for m in refused), [m.text for m in refused]
        assert any(number in c.label for m in refused for c in m.choices)
    # The menu's "Report a repair" button is capped too.
    await h.say("77", "/start")
    refused = await h.tap("77", "Report a repair")
    assert any("open requests from today" in m.text for m in refused)
    # Add to the open ticket instead.
    await h.tap("77", number)
    added = await h.say("77", "Also the bathroom tap drips")
    assert any(number in m.text for m in added)
    async with h.db.transaction() as s:
        count = (await s.execute(select(func.count()).select_from(Ticket))).scalar_one()
        notes = (
            (await s.execute(select(TicketEvent).where(TicketEvent.kind == "resident_note"))).scalars().all()
        )
    assert count == 1 and len(notes) == 1
    # Tomorrow is another day.
    h.clock.advance(timedelta(days=1))
    assert any("Where is the problem?" in m.text for m in await h.say("77", "/repair"))


async def test_no_cap_by_default(harness: Harness) -> None:
    await file_ticket(harness, "78", photos=0)
    assert any("Where is the problem?" in m.text for m in await harness.say("78", "/repair"))
