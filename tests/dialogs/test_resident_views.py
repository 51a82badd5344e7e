"""What residents see about their tickets: the list with buttons, the timeline, photos added later."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import TicketPhoto
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff
from tests.support.media import jpeg

R = "res"


async def test_mytickets_has_a_button_per_ticket_opening_its_timeline(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await file_ticket(h, R, photos=0)
    await h.tap("Zhang", "Accept")
    await h.say(R, "/mytickets")
    listing = h.last(R)
    assert "BX-20261123-0001" in listing.text and listing.labels() == ["BX-20261123-0001"]
    await h.tap(R, "BX-20261123-0001")
    status = h.last(R)
    assert "Request filed" in status.text and "Zhang took the job" in status.text
    assert "Cancel this request" in status.labels()
    await h.say("someone-else", "/status BX-20261123-0001")
    assert "no request numbered" in h.last("someone-else").text


async def test_a_photo_sent_later_is_added_to_the_open_request(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await file_ticket(h, R, photos=0)
    await h.tap("Zhang", "Accept")
    await h.photo(R, jpeg(color=(9, 99, 199)))
    assert h.last(R).labels() == ["BX-20261123-0001", "Don't add it"]
    await h.tap(R, "BX-20261123-0001")
    assert "Added to BX-20261123-0001" in h.last(R).text
    assert "added a photo" in h.last("Zhang").text and len(h.last("Zhang").photos) == 1
    async with h.db.transaction() as s:
        stages = [p.stage for p in (await s.execute(select(TicketPhoto))).scalars()]
    assert stages == ["note"]


async def test_staff_get_their_own_help(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor")
    await h.say("Zhang", "hello")
    assert "/jobs" in h.last("Zhang").text
    await h.say("Boss", "hello")
    assert "/overdue" in h.last("Boss").text
