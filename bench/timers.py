"""Figure 3: the real sweep fires 100 due timers among 100,000 pending, on small and huge histories."""

from __future__ import annotations

import cProfile
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from bench import cache, history
from bench.common import DATA, NOW, Backend, Row, Run, Timer, median, ms
from dispatch.clock import FakeClock
from dispatch.site import load_site
from dispatch.timers import claim_due
from handlers.context import Services
from handlers.timer_sweep import sweep
from storage.db import Database
from storage.media import MediaStore
from storage.models import Ticket
from storage.models import Timer as TimerRow

DUE = 100
# What is due at a busy moment: grab windows running out, contact deadlines, stalls, end-of-day checks.
MIX = [("grab", 40), ("contact", 30), ("stall", 20), ("same_day", 10)]


def sizes(run: Run) -> tuple[list[int], int, int]:
    """Ticket counts, pending timers, measured repetitions (full runs add one warm-up round)."""
    return ([1_000, 20_000], 10_000, 1) if run.quick else ([1_000, 1_000_000], 100_000, 3)


async def add_due(db: Database, rep: int) -> None:
    """100 timers due a minute ago on today's open tickets, each kind where it means work."""
    async with db.transaction() as s:
        open_tickets = (
            await s.execute(
                select(Ticket.id, Ticket.status, Ticket.technician_id)
                .where(Ticket.status.in_(["offered", "assigned"]))
                .order_by(Ticket.id)
            )
        ).all()
        offered = [t for t in open_tickets if t.status == "offered"]
        assigned = [t for t in open_tickets if t.status == "assigned"]
        rows: list[dict[str, Any]] = []
        for kind, count in MIX:
            pool = offered if kind == "grab" else assigned
            for k in range(count):
                ticket = pool[(rep * count + k) % len(pool)]
                data = {"round": "wide"} if kind == "grab" else {"technician": ticket.technician_id}
                rows.append(
                    {
                        "ticket_id": ticket.id,
                        "kind": kind,
                        "due_at": NOW - timedelta(minutes=1),
                        "status": "pending",
                        "data": data,
                        "created_at": NOW - timedelta(minutes=1),
                    }
                )
        await s.execute(insert(TimerRow), rows)


async def time_claim(db: Database) -> float:
    """How long finding and claiming the due timers takes (rolled back, so the sweep still finds them)."""
    async with db.sessions() as session:
        transaction = await session.begin()
        with Timer() as t:
            found = await claim_due(session, NOW, DUE)
            await session.flush()
        await transaction.rollback()
    assert len(found) == DUE, f"expected {DUE} due timers, claim found {len(found)}"
    return t.seconds


async def measure(run: Run, backend: Backend, tickets: int, pending: int, reps: int) -> tuple[float, float]:
    """Median seconds to claim, and to sweep, 100 due timers on a copy of the cached history."""
    site = load_site(history.write_site(DATA))
    template = await cache.template(backend, history.Plan(tickets, pending))
    finds: list[float] = []
    sweeps: list[float] = []
    async with backend.fresh(f"timers{tickets}", template=template) as url:
        db = Database(url)
        services = Services(site=site, clock=FakeClock(NOW), media=MediaStore(run.tmp / "media-timers"))
        try:
            warm = 0 if run.quick else 1  # a full run's first round warms caches and is not counted
            for rep in range(1 - warm, reps + 1):
                await add_due(db, rep)
                found = await time_claim(db)
                profiler = cProfile.Profile() if run.profile_dir and rep == reps else None
                with Timer() as t:
                    if profiler:
                        profiler.enable()
                    fired = await sweep(db, services, limit=DUE)
                    if profiler:
                        profiler.disable()
                if profiler and run.profile_dir:
                    profiler.dump_stats(run.profile_dir / f"timers-{backend.name}-{tickets}.prof")
                assert fired == DUE, f"sweep fired {fired}, expected {DUE}"
                if rep:
                    finds.append(found)
                    sweeps.append(t.seconds)
        finally:
            await db.dispose()
    return median(finds), median(sweeps)


async def figure(run: Run, backend: Backend) -> list[Row]:
    """Sweep time at both sizes and their ratio."""
    counts, pending, reps = sizes(run)
    small, large = counts
    find_s, sweep_s = await measure(run, backend, small, pending, reps)
    find_l, sweep_l = await measure(run, backend, large, pending, reps)
    ratio = sweep_l / sweep_s
    label = f"{large:,}"
    return [
        Row(f"3 timers: sweep 100 due, {small:,} tickets", backend.name, ms(sweep_s)),
        Row(
            f"3 timers: sweep 100 due, {label} tickets",
            backend.name,
            ms(sweep_l),
            "< 100 ms",
            sweep_l < 0.100,
            [f"{pending:,} pending timers; find+claim alone {ms(find_s)} → {ms(find_l)}"],
        ),
        Row(f"3 timers: ratio {label} / {small:,}", backend.name, f"{ratio:.2f}", "< 2", ratio < 2),
    ]
