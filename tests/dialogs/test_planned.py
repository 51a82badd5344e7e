"""Planned maintenance: each due date opens one ticket (two workers, a restart that missed the moment), the
technician answers the checklist (a bad answer asked again, a failure opening a linked repair), overdue work
chases the supervisors once, and /plan shows each overseer their own assets."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from dispatch.notices import Notices
from dispatch.planned.work import open_planned
from handlers.context import Services
from handlers.timer_sweep import sweep_all
from storage.db import Database
from tests.support.dialogs import pending_timers, tick
from tests.support.harness import Harness, add_staff
from tests.support.media import jpeg
from tests.support.planned import LIFT_DUE, LIFT_KEY, children, planned_tickets, start, with_plans

TECH = "tech"
BOSS = "boss"
SOUTH = "south"
MANAGER = "manager"


async def test_the_monthly_elevator_check_is_opened_once_and_a_failed_item_opens_a_repair(
    harness: Harness, db_url: str
) -> None:
    h = harness
    await add_staff(h, "Wang", user=TECH, skills=("elevator",))
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    with_plans(h)
    other_db = Database(db_url)
    other = Services(
        site=h.services.site, clock=h.clock, media=h.services.media, calendar=h.services.calendar
    )
    try:
        await asyncio.gather(start(h.db, h.services), start(other_db, other))
        # Both workers were down at 09:00 on the 5th; they come back at noon, start, and sweep at once.
        h.clock.set(LIFT_DUE + timedelta(hours=3))
        await asyncio.gather(start(h.db, h.services), start(other_db, other))
        await asyncio.gather(*(w for _ in range(3) for w in (tick(h, 0), _sweep(other_db, other))))
        await start(h.db, h.services)  # a further restart writes nothing again
        await tick(h, 1)
    finally:
        await other_db.dispose()
    opened = await planned_tickets(h.db)
    assert [t.plan_key for t in opened] == [LIFT_KEY]
    plan = opened[0]
    assert plan.source == "plan" and plan.area == "north" and plan.category == "elevator"
    # Even a second attempt at the same occurrence (a replayed row) opens nothing.
    async with h.db.transaction() as session:
        community = h.services.site.default
        asset = community.asset("lift-1-1")
        assert asset is not None
        assert await open_planned(session, community, asset, "2026-12", h.clock.now(), Notices()) is None
    offers = [m for m in h.delivery.chat(TECH) if "Accept" in " ".join(m.labels())]
    assert len(offers) == 1

    await h.tap(TECH, "Accept")
    details = next(t for t in h.texts(TECH) if t.startswith("📋 Your job"))
    assert "no resident to contact" in details and "phone" not in details
    first = await h.tap(TECH, "Checklist")
    assert "item 1 of 3" in first[-1].text and first[-1].labels() == ["✅ Pass", "❌ Fail"]
    await h.say(TECH, "looks fine")  # not a choice: asked again, politely
    again = h.delivery.chat(TECH)[-2:]
    assert "isn't one of the answers" in again[0].text and "item 1 of 3" in again[1].text
    await h.tap(TECH, "Pass")
    assert "Brake gap" in h.last(TECH).text and "0.2–0.7 mm" in h.last(TECH).text
    await h.say(TECH, "about half")  # not a number
    assert "isn't a number" in h.delivery.chat(TECH)[-2].text and "Brake gap" in h.last(TECH).text
    await h.say(TECH, "０.９")  # full-width, out of range: failed
    assert "Noted as failed" in h.last(TECH).text
    await h.say(TECH, "制动器间隙过大")
    await h.tap(TECH, "Done")
    assert "item 3 of 3" in h.last(TECH).text
    await h.tap(TECH, "Pass")
    done = await h.tap(TECH, "Finish")
    assert any(
        "is done and closed" in m.text and "Repairs opened for the failed items" in m.text for m in done
    )

    plan = (await planned_tickets(h.db))[0]
    assert plan.status == "closed"
    [repair] = await children(h.db, plan.id)
    assert repair.source == "plan" and repair.status == "offered" and repair.category == "elevator"
    assert "制动器间隙 0.9mm" in repair.description and "过大" in repair.description
    assert any(repair.number in m.text for m in done)
    record = "\n".join(m.text for m in await h.say(BOSS, f"/ticket {plan.number}"))
    assert "Opened by the maintenance plan" in record and "Wang answered the checklist" in record
    assert "A repair was opened for a failed check" in record

    # The repair has no resident either: taken, arrived without a code, completed, and closed at once.
    await h.tap(TECH, "Accept")
    card = h.find_choice(TECH, "Arrived")
    assert "Contacted" not in " ".join(c.label for m in h.delivery.chat(TECH)[-3:] for c in m.choices)
    await h.tap_data(TECH, card.data)
    assert "Arrival at" in h.last(TECH).text
    await h.tap(TECH, "Complete")
    await h.photo(TECH, jpeg())
    await h.tap(TECH, "Done")
    await h.tap(TECH, "None")
    await h.tap(TECH, "No, none")
    await h.tap(TECH, "30 min")
    closed = await h.tap(TECH, "No charge")
    assert any("is done and closed" in m.text for m in closed)
    [repair] = await children(h.db, plan.id)
    assert repair.status == "closed"
    # No deadline of either ticket is left; only each asset's next occurrence waits.
    assert await pending_timers(h) == {"plan": 2}


async def _sweep(db: Database, services: Services) -> None:
    """The other worker's timer loop, once."""
    await sweep_all(db, services)


async def test_overdue_planned_work_chases_the_supervisor_once(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    with_plans(h)
    await start(h.db, h.services)
    h.clock.set(LIFT_DUE)
    await tick(h, 0)
    assert len(await planned_tickets(h.db)) == 1
    await tick(h, 3 * 24 * 60 - 1)
    assert not [t for t in h.texts(BOSS) if "is overdue" in t]
    await tick(h, 2)
    await tick(h, 24 * 60)
    overdue = [t for t in h.texts(BOSS) if "is overdue" in t]
    assert len(overdue) == 1 and "Nobody has taken it" in overdue[0]
    shown = await h.say(BOSS, "/plan")
    assert "Missed" in shown[-1].text and (await planned_tickets(h.db))[0].number in shown[-1].text


async def test_plan_shows_each_overseer_their_own_assets(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    await add_staff(h, "Zhou", "supervisor", user=SOUTH, areas=("south",))
    await add_staff(h, "Liu", "manager", user=MANAGER)
    with_plans(h)
    await start(h.db, h.services)
    h.clock.set(LIFT_DUE - timedelta(days=3))  # Wednesday of the week the elevator is due
    north = (await h.say(BOSS, "/plan"))[-1].text
    assert "Building 1, Unit 1 elevator: not opened yet" in north and "12-05 09:00" in north
    assert "Fire pump" not in north
    assert "No planned maintenance is due" in (await h.say(SOUTH, "/plan"))[-1].text
    assert "elevator" in (await h.say(MANAGER, "/plan"))[-1].text
    await h.say("1001", "hello")
    assert "for supervisors and managers" in (await h.say("1001", "/plan"))[-1].text


async def test_the_checklist_speaks_chinese_to_a_chinese_technician(harness: Harness) -> None:
    h = harness
    await add_staff(h, "王师傅", user=TECH, skills=("elevator",), language="zh_CN")
    with_plans(h)
    await start(h.db, h.services)
    h.clock.set(LIFT_DUE)
    await tick(h, 0)
    await h.tap(TECH, "抢单")
    first = await h.tap(TECH, "检查表")
    assert "1号楼1单元电梯 — 第 1 项，共 3 项" in first[-1].text and "曳引机运行无异响" in first[-1].text
    assert first[-1].labels() == ["✅ 合格", "❌ 不合格"]
    await h.say(TECH, "还行")
    assert "请点“合格”或“不合格”" in h.delivery.chat(TECH)[-2].text
