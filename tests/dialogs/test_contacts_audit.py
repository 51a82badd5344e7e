"""The audit of contact details: a row each time staff are shown a resident's phone or room; /audit for
managers only."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import ContactView
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff

R = "res"
NUMBER = "BX-20261123-0001"


async def _views(h: Harness) -> list[tuple[str, str, list[str]]]:
    async with h.db.transaction() as s:
        rows = (await s.execute(select(ContactView).order_by(ContactView.id))).scalars().all()
        return [(str(r.viewer_id), r.what, r.fields) for r in rows]


async def test_each_showing_of_the_phone_or_room_is_audited(harness: Harness) -> None:
    h = harness
    zhang = await add_staff(h, "Zhang")
    boss = await add_staff(h, "Boss", "supervisor")
    await add_staff(h, "Liu", "manager")
    await file_ticket(h, R, photos=0)
    assert await _views(h) == []  # the offer shows neither phone nor room
    await h.tap("Zhang", "Accept")
    assert "13812345678" in "\n".join(h.texts("Zhang"))
    assert await _views(h) == [
        (str(zhang), "job_details", ["phone", "room"]),
        (str(zhang), "job_card", ["phone", "room"]),
    ]
    await h.tap("Zhang", "Contacted")  # the card is edited in place: nothing new shown
    assert len(await _views(h)) == 2
    await h.say("Boss", f"/ticket {NUMBER}")
    assert "13812345678" in h.last("Boss").text
    assert (await _views(h))[-1] == (str(boss), "ticket", ["phone", "room"])

    await h.say("Liu", f"/audit {NUMBER}")
    shown = h.last("Liu").text
    assert f"Contact details of {NUMBER} shown to:" in shown
    assert "Zhang (technician) · job details · phone, room" in shown
    assert "Boss (supervisor) · /ticket · phone, room" in shown
    assert shown.index("Boss") < shown.index("job details")  # newest first


async def test_audit_is_for_managers_and_needs_a_known_number(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Boss", "supervisor")
    await add_staff(h, "Liu", "manager")
    await file_ticket(h, R, photos=0)
    await h.say("Boss", f"/audit {NUMBER}")
    assert "for managers" in h.last("Boss").text
    await h.say(R, f"/audit {NUMBER}")
    assert "for managers" in h.last(R).text
    await h.say("Liu", "/audit")
    assert "Send /audit NUMBER" in h.last("Liu").text
    await h.say("Liu", "/audit BX-19990101-0001")
    assert "There is no request BX-19990101-0001" in h.last("Liu").text
    await h.say("Liu", f"/audit {NUMBER}")
    assert "Nobody on the staff has been shown" in h.last("Liu").text
    # Looking at the audit shows no contact details, so it adds no row.
    assert await _views(h) == []
