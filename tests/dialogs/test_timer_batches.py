"""The sweep fires due timers in batches: two workers sweeping the same due timers at once fire each one
once; a timer whose firing raises is set aside without losing or repeating the others; a sweep that dies
half-way leaves its whole batch to fire, once, on the next sweep."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import escalation, timers
from dispatch.roster import Roster
from dispatch.site import Site
from handlers.context import Services
from handlers.timer_sweep import sweep, sweep_all
from storage.db import Database
from storage.models import Ticket, TicketEvent, Timer
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff

TECH = "Zhang"
BOSS = "Boss"
NOBODY_TOOK = "Nobody has taken"
NOT_CONTACTED = "has not contacted"


async def _two_tickets(h: Harness) -> tuple[Ticket, Ticket]:
    """One ticket the technician took (contact deadlines chase it) and one nobody took (grab windows)."""
    await add_staff(h, TECH)
    await add_staff(h, BOSS, "supervisor")
    await file_ticket(h, "r1", photos=0)
    await h.tap(TECH, "Accept")
    await file_ticket(h, "r2", photos=0)
    async with h.db.transaction() as s:
        taken, waiting = (await s.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
    assert taken.status == "assigned" and waiting.status == "offered"
    return taken, waiting


async def _due(h: Harness, ticket: Ticket, kind: str, count: int, **data: object) -> None:
    """`count` timers of a kind, the k-th started and due k minutes ago: its event says which one fired."""
    now = h.clock.now()
    async with h.db.transaction() as s:
        for k in range(1, count + 1):
            ago = now - timedelta(minutes=k)
            timers.start(s, ticket.id, kind, ago, now=ago, **data)


async def _fired(h: Harness) -> tuple[Counter[int], Counter[int]]:
    """How often each grab window (by minutes late) and each contact deadline (by minutes since) fired."""
    async with h.db.transaction() as s:
        rows = (await s.execute(select(TicketEvent))).scalars().all()
    grabs = Counter(e.data["late"] for e in rows if e.kind == "escalated")
    chases = Counter(e.data["minutes"] for e in rows if e.kind == "chase_contact")
    return grabs, chases


async def _statuses(h: Harness) -> Counter[str]:
    async with h.db.transaction() as s:
        rows = (await s.execute(select(Timer).where(Timer.due_at <= h.clock.now()))).scalars().all()
    return Counter(t.status for t in rows)


def _boss_told(h: Harness, words: str) -> int:
    return len([m for m in h.delivery.chat(BOSS) if words in m.text])


async def test_two_workers_sweeping_the_same_due_timers_fire_each_once(
    harness: Harness, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    taken, waiting = await _two_tickets(h)
    await _due(h, waiting, timers.GRAB, 70, round="wide")
    await _due(h, taken, timers.CONTACT, 70, technician=taken.technician_id)
    claims: list[set[int]] = []
    first_batches = asyncio.Barrier(2)
    load = escalation.roster

    async def racing(session: AsyncSession, site: Site, due: Sequence[Timer], now: datetime) -> Roster:
        claims.append({t.id for t in due})
        if len(claims) <= 2 and "postgresql" in db_url:
            # Each worker holds its first claim until the other has claimed too: two batches really in
            # flight at once. (SQLite lets one writer in at a time; there the workers race for the lock.)
            async with asyncio.timeout(30):  # a worker blocked by the other's claim would wait forever
                await first_batches.wait()
        return await load(session, site, due, now)

    monkeypatch.setattr(escalation, "roster", racing)
    other_db = Database(db_url)
    other = Services(site=h.services.site, clock=h.clock, media=h.services.media)
    try:
        fired = await asyncio.gather(sweep_all(h.db, h.services, 25), sweep_all(other_db, other, 25))
    finally:
        await other_db.dispose()
    await h.flush()

    assert sum(fired) == 140 and (all(fired) or "sqlite" in db_url)
    assert sum(len(c) for c in claims) == len(set().union(*claims)) == 140  # no timer claimed twice
    grabs, chases = await _fired(h)
    assert grabs == Counter(range(1, 71)) and chases == Counter(range(1, 71))
    assert await _statuses(h) == {"fired": 140}
    assert _boss_told(h, NOBODY_TOOK) == 70 and _boss_told(h, NOT_CONTACTED) == 70
    assert await sweep_all(h.db, h.services) == 0


async def test_a_timer_that_fails_is_set_aside_and_the_rest_of_its_batch_fires_once(
    harness: Harness, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    taken, waiting = await _two_tickets(h)
    await _due(h, waiting, timers.GRAB, 10, round="wide")
    await _due(h, taken, timers.CONTACT, 10, technician=taken.technician_id)
    await _due(h, taken, "boom", 1)

    async def boom(*_: object) -> str:
        raise RuntimeError("a bug in one handler")

    monkeypatch.setitem(escalation._HANDLERS, "boom", boom)
    assert await sweep(h.db, h.services) == 21
    await h.flush()

    grabs, chases = await _fired(h)
    assert grabs == Counter(range(1, 11)) and chases == Counter(range(1, 11))
    assert await _statuses(h) == {"fired": 20, "failed": 1}
    assert _boss_told(h, NOBODY_TOOK) == 10 and _boss_told(h, NOT_CONTACTED) == 10
    assert await sweep_all(h.db, h.services) == 0  # the failed one doesn't come back every tick


async def test_a_sweep_that_dies_half_way_leaves_its_batch_to_fire_once(
    harness: Harness, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    taken, _ = await _two_tickets(h)
    await _due(h, taken, timers.CONTACT, 20, technician=taken.technician_id)
    chase = escalation._HANDLERS[timers.CONTACT]
    reached, never = asyncio.Event(), asyncio.Event()
    calls = 0

    async def hangs_on_the_tenth(*args: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 10:
            reached.set()
            await never.wait()
        return await chase(*args)  # type: ignore[arg-type]

    monkeypatch.setitem(escalation._HANDLERS, timers.CONTACT, hangs_on_the_tenth)
    dying = asyncio.create_task(sweep(h.db, h.services))
    await reached.wait()
    dying.cancel()  # the worker dies with nine timers of its batch fired in its open transaction
    with pytest.raises(asyncio.CancelledError):
        await dying
    assert await _statuses(h) == {"pending": 20}
    assert await _fired(h) == (Counter(), Counter())

    monkeypatch.setitem(escalation._HANDLERS, timers.CONTACT, chase)
    assert await sweep_all(h.db, h.services) == 20
    await h.flush()
    assert (await _fired(h))[1] == Counter(range(1, 21))
    assert _boss_told(h, NOT_CONTACTED) == 20
