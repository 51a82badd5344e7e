"""One outage, many reports: residents join the first report, the technician works it once, all are told."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Incident, Ticket
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff
from tests.support.incidents import FLATS, complete_job, finish_own, offers, outage_steps, tickets

TECH, OTHER, BOSS = "Zhang", "Li", "Chen"


async def test_thirty_residents_reporting_no_water_become_one_incident_with_one_offer(
    harness: Harness,
) -> None:
    h = harness
    await add_staff(h, TECH)
    await add_staff(h, OTHER)
    await add_staff(h, BOSS, "supervisor")
    residents = [(f"r{i:02d}", *FLATS[i]) for i in range(30)]
    # The first fifteen talk to the bot at the same time: none has filed when the others reach the question.
    walks = [outage_steps(h, user, unit, room) for user, unit, room in residents[:15]]
    for step in range(len(walks[0])):
        for walk in walks:
            await walk[step]()
    for user, _, _ in residents[:15]:
        await finish_own(h, user)  # the first files; every other is asked at the last look before filing
        if user != "r00":
            assert "households have already reported" in h.last(user).text
            await h.tap(user, "Join their report")
    # The other fifteen come a little later and are asked right after the category.
    for user, unit, room in residents[15:]:
        for step in outage_steps(h, user, unit, room):
            await step()
        assert "households have already reported" in h.last(user).text
        await h.tap(user, "Join their report")
    everything = await tickets(h)
    working, reports = everything[0], everything[1:]
    assert len(everything) == 30
    assert working.status == "offered" and {t.status for t in reports} == {"linked"}
    assert {t.incident_id for t in everything} == {working.incident_id} and working.incident_id is not None
    # One offer, to each technician once: no copy for any of the 29 reports.
    assert {o.ticket_id for o in await offers(h)} == {working.id} and len(await offers(h)) == 2
    assert "You have joined" in h.last("r29").text and "30 households" in h.last("r29").text

    await h.tap(TECH, "Accept")
    await h.tap(TECH, "On my way")
    await h.tap(TECH, "30 min")
    for user, _, _ in residents[1:]:
        assert "the technician is on the way" in h.last(user).text, user
    assert "on the way" in h.last("r00").text
    async with h.db.transaction() as s:
        code = (await s.get(Ticket, working.id)).arrival_code  # type: ignore[union-attr]
    await h.tap(TECH, "Arrived")
    await h.say(TECH, code)
    await complete_job(h, TECH)
    after = await tickets(h)
    assert after[0].status == "completed" and {t.status for t in after[1:]} == {"completed"}
    for user, _, _ in residents[1:]:
        assert "Is it fixed at your home too?" in h.last(user).text, user
        assert h.last(user).labels() == ["✅ Fixed", "❌ Not fixed"]
    assert "Is it fixed?" in h.last("r00").text
    # The technician did one job, not thirty.
    async with h.db.transaction() as s:
        jobs = (await s.execute(select(func.count()).where(Ticket.technician_id.is_not(None)))).scalar_one()
        incident = (await s.execute(select(Incident))).scalar_one()
    assert jobs == 1 and incident.status == "closed"

    await h.tap("r05", "Fixed")
    assert "How would you rate" in h.last("r05").text
    # Still dry at one flat: that report goes out on its own.
    await h.tap("r07", "Not fixed")
    assert "goes out to technicians again on its own" in h.texts("r07")[-1] or any(
        "on its own" in text for text in h.texts("r07")[-2:]
    )
    r07 = next(t for t in await tickets(h) if t.id == after[7].id)
    assert r07.status == "offered"
    assert {o.ticket_id for o in await offers(h)} == {working.id, r07.id}


async def test_a_resident_who_declines_to_join_files_a_normal_ticket(harness: Harness) -> None:
    h = harness
    await add_staff(h, TECH)
    await file_ticket(h, "first", photos=0)
    for step in outage_steps(h, "second", 1, "101")[:6]:
        await step()
    await h.say("second", "厨房水管漏水")
    if "I still need a repair" in h.last("second").labels():
        await h.tap("second", "I still need a repair")
    await h.tap("second", "Yes")
    # Building 2 is not building 1: nothing to join.
    assert "Photos" in h.last("second").text or "photo" in h.last("second").text.lower()
    await finish_own(h, "second")
    # A neighbour in building 1 reports the same kind of fault and prefers a report of their own.
    await h.say("third", "报修")
    await h.tap("third", "My home")
    await h.tap("third", "Building 1")
    await h.tap("third", "Unit 1")
    await h.say("third", "1204")
    await h.say("third", "13812345670")
    await h.say("third", "卫生间水管漏水")
    if "I still need a repair" in h.last("third").labels():
        await h.tap("third", "I still need a repair")
    await h.tap("third", "Yes")
    assert "1 households have already reported" in h.last("third").text
    await h.tap("third", "File my own")
    await finish_own(h, "third")
    assert "Your repair request is filed" in h.texts("third")[-2] or any(
        "Your repair request is filed" in text for text in h.texts("third")[-3:]
    )
    first, second, third = await tickets(h)
    assert [t.status for t in (first, second, third)] == ["offered", "offered", "offered"]
    assert {t.incident_id for t in (first, second, third)} == {None}
    assert {o.ticket_id for o in await offers(h)} == {first.id, second.id, third.id}


async def test_a_supervisor_declares_an_incident_links_a_report_and_posts_progress(harness: Harness) -> None:
    h = harness
    await add_staff(h, TECH)
    await add_staff(h, BOSS, "supervisor")
    await add_staff(h, "Tian", "technician")
    await h.say(BOSS, "/bindgroup residents", chat_id="g-residents", chat_type="group")
    assert "residents' group" in h.delivery.chat("g-residents")[-1].text
    await file_ticket(h, "first", photos=0)
    await file_ticket(h, "second", photos=0)  # asked to join and filed its own (the helper does)
    first, second = await tickets(h)
    assert second.incident_id is None and second.status == "offered"
    # Only overseers may declare.
    await h.say("Tian", f"/incident {first.number}")
    assert "supervisors and managers" in h.last("Tian").text
    await h.say(BOSS, f"/ticket {first.number}")
    assert "📢 Declare an incident" in h.last(BOSS).labels()
    await h.say(BOSS, f"/incident {first.number} {second.number} BX-NOPE")
    said = "\n".join(h.texts(BOSS)[-3:])
    assert f"Incident declared on {first.number}" in said and f"{second.number} linked" in said
    assert "There is no request BX-NOPE" in said
    assert "Reported by 2 households" in h.last(BOSS).text
    first, second = await tickets(h)
    assert second.status == "linked" and second.incident_id == first.incident_id
    # The linked report's offer copy can no longer be taken.
    assert any("no need to take it" in m.text for m in h.delivery.chat(TECH))
    assert "same fault as" in h.last("second").text
    await h.tap(BOSS, "Expected time")
    await h.say(BOSS, "soon-ish")
    assert "Please write a time" in h.last(BOSS).text
    await h.say(BOSS, "2h")
    assert "Posted to 3 chats" in h.last(BOSS).text
    for chat in ("first", "second"):
        assert "expected to be fixed by" in h.delivery.chat(chat)[-1].text, chat
    # The residents' group reads the community's language, Chinese.
    assert "前修复" in h.delivery.chat("g-residents")[-1].text
    await h.say(BOSS, f"/incident {first.number}")
    await h.tap(BOSS, "Write an update")
    await h.say(BOSS, "水务公司正在抢修主管道")
    assert "水务公司正在抢修主管道" in h.last("second").text
    # Linking a report twice is refused politely.
    await h.say(BOSS, f"/incident {first.number} {second.number}")
    assert "already part of this incident" in "\n".join(h.texts(BOSS)[-2:])
