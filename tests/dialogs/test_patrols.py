"""Patrol finds: staff report a public-area fault, nobody is asked as a resident, the supervisor checks."""

from __future__ import annotations

from storage.models import Ticket
from tests.support.harness import Harness, add_staff
from tests.support.incidents import complete_job, tickets

FINDER, TECH, BOSS = "Wang", "Zhang", "Chen"


async def test_a_patrol_find_is_worked_without_a_resident_and_closed_by_the_supervisors_check(
    harness: Harness,
) -> None:
    h = harness
    await add_staff(h, FINDER, "technician", skills=("hvac",))
    await add_staff(h, TECH)
    await add_staff(h, BOSS, "supervisor")
    # A resident can't file patrol finds.
    await h.say("resident", "/patrol")
    assert "/patrol is for property staff" in h.last("resident").text
    await h.say(FINDER, "/patrol")
    assert "Where exactly?" in h.last(FINDER).text
    await h.say(FINDER, "2号楼大堂")
    await h.say(FINDER, "大堂的灯不亮了")  # no phone step, and no self-check tip for staff
    assert "Is that right?" in h.last(FINDER).text
    await h.tap(FINDER, "Yes")
    await h.tap(FINDER, "Skip")  # photos; no preferred time to agree
    summary = h.last(FINDER).text
    assert "patrol report" in summary and "Phone" not in summary and "Preferred time" not in summary
    await h.tap(FINDER, "Confirm")
    assert "Patrol find filed" in h.last(FINDER).text
    (found,) = await tickets(h)
    assert found.origin == "patrol" and found.scope == "public" and found.status == "offered"
    seen = len(h.delivery.chat(FINDER))

    await h.tap(TECH, "Accept")
    card = h.last(TECH)
    assert "📞 Contacted" not in card.labels() and "📍 Arrived" in card.labels()
    await h.tap(TECH, "Arrived")  # no resident to read a code out
    assert "Arrival at" in h.texts(TECH)[-1]
    await complete_job(h, TECH)
    assert "Please check patrol find" in h.last(BOSS).text
    # The finder is staff, not a resident: no "taken your request", no code, no "Is it fixed?".
    assert h.delivery.chat(FINDER)[seen:] == []

    await h.tap(BOSS, "Not fixed")
    assert any("goes back to the technician" in text for text in h.texts(BOSS)[-2:])
    assert (await tickets(h))[0].status == "rework"
    await h.tap(TECH, "Arrived")
    await complete_job(h, TECH)
    fixed = h.find_choice(BOSS, "Fixed").data
    await h.tap_data(BOSS, fixed)
    assert "is closed" in h.last(BOSS).text
    closed: Ticket = (await tickets(h))[0]
    assert closed.status == "closed" and closed.rating is None
    assert "checked" in h.last(TECH).text
    # A second tap on the check is answered, not acted on.
    await h.tap_data(BOSS, fixed)
    assert "already been checked" in h.last(BOSS).text
    assert h.delivery.chat(FINDER)[seen:] == []
