"""Dispatch with a fake clock: ranking, the grab, assignment, every rung of the ladder, timers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from dispatch import staff
from storage.models import Ticket
from tests.support.dialogs import events, file_ticket, pending_timers, tick, ticket
from tests.support.harness import Harness, add_staff

R = "resident"


async def test_offers_reach_only_qualified_on_duty_technicians(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang", skills=("plumbing_electric",))
    await add_staff(h, "Li", skills=("hvac",))
    await add_staff(h, "Wang", skills=("plumbing_electric",), areas=("south",))
    off = await add_staff(h, "Zhao", skills=("plumbing_electric",))
    async with h.db.transaction() as s:
        person = await s.get(staff.Person, off)  # type: ignore[attr-defined]
        assert person is not None
        await staff.set_duty(s, person, False, h.clock.now())
    await file_ticket(h, R, photos=0)  # building 1 is in the north area, plumbing
    offered = [m for m in h.delivery.messages if "New job" in m.text]
    assert [m.chat_id for m in offered] == ["Zhang"]
    assert "1203" not in offered[0].text and "13812345678" not in offered[0].text
    assert (await ticket(h)).status == "offered"


async def test_ranking_prefers_lighter_load_then_longest_wait(harness: Harness) -> None:
    from dispatch.offers.candidates import rank

    h = harness
    await add_staff(h, "A")
    await add_staff(h, "B")
    await file_ticket(h, "r1", photos=0)
    await h.tap("B", "Accept")
    await file_ticket(h, "r2", photos=0)
    async with h.db.transaction() as s:
        tk = (await s.execute(select(Ticket).where(Ticket.number.like("%0002")))).scalar_one()
        ranked = await rank(s, h.services.site.default, tk, h.clock.now())
    assert [c.person.name for c in ranked] == ["A", "B"]
    assert [c.open_jobs for c in ranked] == [0, 1]


async def test_grab_gives_details_in_private_and_edits_other_copies(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await file_ticket(h, R, photos=1)
    zhang_accept = h.find_choice("Zhang", "Accept").data
    await h.tap("Li", "Accept")
    zhang_offer, li_offer = h.delivery.chat("Zhang")[0], h.delivery.chat("Li")[0]
    assert "taken by Li" in zhang_offer.text and zhang_offer.choices == []
    assert "You took" in li_offer.text and li_offer.choices == []
    details, card = h.delivery.chat("Li")[-2:]
    assert "Job BX-20261123-0001" in card.text and "📞 Contacted" in card.labels()
    assert "13812345678" in details.text and "1203" in details.text and len(details.photos) == 1
    told = h.last(R)
    assert "Li" in told.text and "taken your request" in told.text and "verification code" in told.text
    assert told.labels() == ["The technician is here"]
    shown = len(h.delivery.messages)
    await h.tap_data("Zhang", zhang_accept)
    assert len(h.delivery.messages) == shown
    assert h.delivery.answers[-1][1] == "Already taken by Li."
    tk = await ticket(h)
    assert tk.status == "assigned"
    assert await pending_timers(h) == {"contact": 1, "arrival": 1, "stall": 1, "same_day": 1}
    assert (await events(h))[-2:] == ["offered", "taken"]


async def test_taps_from_people_who_may_not_grab_change_nothing(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Hvac", skills=("hvac",))
    await file_ticket(h, R, photos=0)
    accept = h.find_choice("Zhang", "Accept").data
    for user, answer in [
        (R, "Sorry, I couldn't read that button."),  # a resident replaying a technician's button
        ("Hvac", "Sorry, I couldn't read that button."),
        ("Zhang", ""),
    ]:
        if not answer:
            break
        await h.tap_data(user, accept)
        assert h.delivery.answers[-1][1] == answer
    await h.tap_data("Zhang", "o:forged-token:a")
    assert h.delivery.answers[-1][1] == "Sorry, I couldn't read that button."
    async with h.db.transaction() as s:
        person = await staff.by_name(s, "Zhang")
        assert person is not None
        await staff.set_duty(s, person, False, h.clock.now())
    await h.tap_data("Zhang", accept)
    assert h.delivery.answers[-1][1] == "You are off duty. Send /onduty first."
    assert (await ticket(h)).technician_id is None


async def test_group_offer_needs_a_skilled_technician(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor")
    await h.say("Boss", "/bindgroup technicians", chat_id="-100", chat_type="group")
    assert "job offers" in h.delivery.chat("-100")[-1].text
    await file_ticket(h, R, photos=0)
    group_offer = h.delivery.chat("-100")[-1]
    # Groups read the community's default language, Chinese.
    assert "新工单" in group_offer.text and "1203" not in group_offer.text and "138" not in group_offer.text
    assert group_offer.labels() == ["✋ 抢单"]
    accept = group_offer.choices[0].data
    await h.tap_data("stranger", accept, chat_id="-100", chat_type="group")
    assert h.delivery.answers[-1][1] == "Only registered technicians can take jobs."
    await h.tap_data("Zhang", accept, chat_id="-100", chat_type="group")
    assert "Zhang" in group_offer.text and group_offer.choices == [] and group_offer.edits == 1
    assert (await ticket(h)).status == "assigned"
    # The copy in Zhang's private chat was edited too.
    assert "You took" in h.delivery.chat("Zhang")[0].text


async def test_named_technician_gets_it_alone_then_everyone(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await add_staff(h, "Boss", "supervisor")
    await h.say(R, "报修")
    for step in ("My home", "Building 1", "Unit 1"):
        await h.tap(R, step)
    for text in ("1203", "13812345678", "卧室插座没电了"):
        await h.say(R, text)
    if "check" in h.last(R).text:
        await h.tap(R, "still need")
    for step in ("Yes", "Skip", "As soon", "Edit", "Technician"):
        await h.tap(R, step)
    assert h.last(R).labels() == ["No preference", "Li", "Zhang"]
    await h.tap(R, "Li")
    assert "Technician you asked for: Li" in h.last(R).text
    await h.tap(R, "Confirm")
    assert h.delivery.chat("Zhang") == [] and "New job" in h.delivery.chat("Li")[-1].text
    await tick(h, 5)  # normal urgency: 5 minute window for Li alone, then everyone
    assert "New job" in h.delivery.chat("Zhang")[-1].text
    assert h.delivery.chat("Boss") == []
    assert "widened" in await events(h)
    await tick(h, 5)
    assert "Nobody has taken" in h.delivery.chat("Boss")[-1].text


async def test_escalation_ladder_fires_each_rung_once(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor", areas=("north",))
    await add_staff(h, "South boss", "supervisor", areas=("south",))
    await add_staff(h, "Chief", "manager")
    await file_ticket(h, R, photos=0)  # emergency: grab 3m, manager 10m
    await tick(h, 2.9)
    assert h.delivery.chat("Boss") == []
    await tick(h, 0.2)
    ping = h.delivery.chat("Boss")[-1]
    assert "Nobody has taken" in ping.text and "BX-20261123-0001" in ping.text
    assert ping.labels() == ["Zhang (0 open)"]
    assert h.delivery.chat("South boss") == []
    await tick(h, 5)
    assert len(h.delivery.chat("Boss")) == 1 and h.delivery.chat("Chief") == []
    await tick(h, 5.1)
    assert "still has no technician" in h.delivery.chat("Chief")[-1].text
    await tick(h, 60)
    assert len(h.delivery.chat("Boss")) == 1 and len(h.delivery.chat("Chief")) == 1
    # One tap on the supervisor's button assigns it.
    await h.tap("Boss", "Zhang")
    assert "now with Zhang" in h.last("Boss").text
    tk = await ticket(h)
    assert tk.status == "assigned" and tk.technician_id is not None
    assert [e for e in await events(h) if e == "escalated"] == ["escalated", "escalated"]


async def test_staff_of_another_community_hear_nothing_of_this_one(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor", areas=("north",), community="demo")
    await add_staff(h, "Far boss", "supervisor", areas=("north",), community="riverside")
    await add_staff(h, "Far chief", "manager", community="riverside")
    await add_staff(h, "Far desk", "cs", community="riverside")
    await file_ticket(h, R, photos=0)  # emergency: grab 3m, manager 10m
    await tick(h, 3.1)
    await tick(h, 10.1)
    await tick(h, 24 * 60)  # the same-day check for customer service
    assert "Nobody has taken" in h.delivery.chat("Boss")[-1].text
    assert h.delivery.chat("Far boss") == h.delivery.chat("Far chief") == h.delivery.chat("Far desk") == []
    await h.say("Far boss", "/queue")
    assert "Nothing is waiting" in h.last("Far boss").text
    await h.say("Far boss", "/assign BX-20261123-0001 Zhang")
    tk = await ticket(h)
    assert tk.technician_id is None


async def test_overdue_lists_only_the_supervisors_own_late_tickets(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor", areas=("north",))
    await add_staff(h, "South boss", "supervisor", areas=("south",))
    await add_staff(h, "Far boss", "supervisor", community="riverside")
    await h.say("Boss", "/overdue")
    assert "Nothing is overdue" in h.last("Boss").text
    await file_ticket(h, R, photos=0)  # emergency: the grab window is 3 minutes
    await tick(h, 1)
    await h.say("Boss", "/overdue")
    listed = h.last("Boss").text
    assert "BX-20261123-0001" in listed and "grab" in listed and "due in 2 min" in listed
    for other in ("South boss", "Far boss"):
        await h.say(other, "/overdue")
        assert "Nothing is overdue" in h.last(other).text, other
    # A deadline left pending on a ticket no longer open (a row from an older version, say) is not news.
    async with h.db.transaction() as s:
        await s.execute(update(Ticket).values(status="cancelled"))
    await h.say("Boss", "/overdue")
    assert "Nothing is overdue" in h.last("Boss").text


async def test_chases_after_assignment_each_once(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor")
    await add_staff(h, "Zhou", "cs")
    await file_ticket(h, R, photos=0)  # emergency: contact 10m, arrival 20m, stall 1h
    await h.tap("Zhang", "Accept")
    await tick(h, 10.5)
    assert "has not contacted" in h.delivery.chat("Boss")[-1].text
    await tick(h, 10)
    assert "not on site" in h.delivery.chat("Boss")[-1].text
    assert "running late" in h.last(R).text
    await tick(h, 40)
    assert "No progress" in h.delivery.chat("Boss")[-1].text
    assert len(h.delivery.chat("Boss")) == 3
    await tick(h, 11 * 60)  # past 20:00 in Shanghai: not finished the same day
    assert "not finished today" in h.delivery.chat("Boss")[-1].text
    assert "not finished today" in h.delivery.chat("Zhou")[-1].text
    await tick(h, 24 * 60)
    assert len(h.delivery.chat("Boss")) == 4 and len(h.delivery.chat("Zhou")) == 1


async def test_progress_cancels_the_timers_it_makes_moot(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor")
    await file_ticket(h, R, photos=0)
    await h.tap("Zhang", "Accept")
    await h.tap("Zhang", "Contacted")
    assert "contact" not in await pending_timers(h)
    async with h.db.transaction() as s:
        code = (await s.execute(select(Ticket.arrival_code))).scalar_one()
    await h.tap("Zhang", "Arrived")
    await h.say("Zhang", code)
    assert set(await pending_timers(h)) == {"stall", "same_day"}
    await tick(h, 30)
    assert h.delivery.chat("Boss") == []


async def test_everyone_full_queues_honestly_and_retries_next_morning(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang", capacity=1)
    await add_staff(h, "Boss", "supervisor")
    await file_ticket(h, "r1", photos=0)
    await h.tap("Zhang", "Accept")
    await file_ticket(h, "r2", photos=0)
    assert "fully booked" in h.last("r2").text
    assert "Queued" in h.last("Boss").text
    await h.say("Boss", "/queue")
    assert "BX-20261123-0002" in h.last("Boss").text
    await tick(h, 24 * 60)  # next morning: offered again (Zhang has a fresh day)
    assert "New job BX-20261123-0002" in h.delivery.chat("Zhang")[-1].text


async def test_assign_by_text_asks_to_confirm_an_off_duty_technician(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await add_staff(h, "Boss", "supervisor")
    await file_ticket(h, R, photos=0)
    await h.say("Boss", "/assign BX-20261123-0001 Nobody")
    assert "no technician called Nobody" in h.last("Boss").text
    await h.say("Li", "/offduty")
    await h.say("Boss", "/assign BX-20261123-0001 Li")
    assert "off duty" in h.last("Boss").text
    await h.tap("Boss", "Yes, assign")
    assert "now with Li" in h.last("Boss").text
    assert "was assigned to Li" in h.delivery.chat("Zhang")[0].text
    await h.say("Boss", "/reassign BX-20261123-0001 Zhang")
    assert "now with Zhang" in h.last("Boss").text
    assert "reassigned to Zhang" in h.last("Li").text
    assert "passed to Zhang" in h.last(R).text
    await h.say(R, "/assign BX-20261123-0001 Zhang")
    assert "for supervisors" in h.last(R).text


async def test_invite_binds_once_and_expires(harness: Harness) -> None:
    h = harness
    async with h.db.transaction() as s:
        person = await staff.add(
            s, role=staff.Role.TECHNICIAN, name="New", now=h.clock.now(), skills=["hvac"]
        )
        code = (await staff.invite(s, person, h.clock.now())).code
        stale = (await staff.invite(s, person, h.clock.now() - timedelta(days=4))).code
    await h.say("tg1", f"/start inv_{code}")
    assert "Welcome, New" in h.last("tg1").text
    await h.say("tg2", f"/bind {code}")
    assert "already been used" in h.last("tg2").text
    await h.say("tg3", f"/bind {stale}")
    assert "expired" in h.last("tg3").text
    await h.say("tg3", "/bind nonsense")
    assert "don't know that invite" in h.last("tg3").text
    await h.say("tg1", "/offduty")
    assert "off duty" in h.last("tg1").text


async def test_timers_due_during_downtime_fire_once_after_restart(harness: Harness) -> None:
    from tests.support.harness import Harness as NewHarness

    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Boss", "supervisor")
    await file_ticket(h, R, photos=0)
    h.clock.advance(timedelta(hours=3))  # the bot was down for three hours
    restarted = NewHarness(h.db, h.services, h.clock)
    restarted.delivery = h.delivery
    restarted.sender.channels["test"] = h.delivery
    from handlers.timer_sweep import sweep_all

    # The overdue grab window fires at once; the manager's window starts from the supervisor's ping,
    # so the supervisor gets a real chance before the manager is woken.
    assert await sweep_all(h.db, h.services) == 1
    await restarted.flush()
    assert len([m for m in h.delivery.chat("Boss") if "Nobody has taken" in m.text]) == 1
    assert "180 min" in h.delivery.chat("Boss")[-1].text
    assert await sweep_all(h.db, h.services) == 0
    await tick(restarted, 10)
    assert await sweep_all(h.db, h.services) == 0
    assert len([m for m in h.delivery.chat("Boss") if "Nobody has taken" in m.text]) == 1
