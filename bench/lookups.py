"""Figure 4: what people look up on a big history: /mytickets, a ticket by number, a supervisor's /overdue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench import cache, history
from bench.common import NOW, Backend, Row, Run, Timer, ms, pct, pg_url
from dispatch.lifecycle import OPEN
from storage.db import Database
from storage.models import Person, Ticket
from storage.repositories import Tickets

SAMPLES = 200
HORIZON = timedelta(minutes=30)


async def overdue(
    session: AsyncSession, community: str, areas: Sequence[str], now: datetime, limit: int = 50
) -> list[tuple[Ticket, str, datetime]]:
    """A supervisor's /overdue: the bot's own query (`Tickets.at_risk`), as handlers/staff_views runs it."""
    return (await Tickets(session).at_risk(now + HORIZON, OPEN, community, areas))[:limit]


def size(run: Run) -> history.Plan:
    """The history the lookups run on."""
    return history.Plan(20_000, 10_000) if run.quick else history.Plan(1_000_000, 100_000)


async def timed(
    session: AsyncSession, calls: Sequence[Callable[[], Awaitable[Any]]]
) -> tuple[list[float], int]:
    """Each call once to warm up, then once timed; returns the times and the rows found."""
    for call in calls:
        await call()
    times, found = [], 0
    for call in calls:
        with Timer() as t:
            result = await call()
        times.append(t.seconds)
        found += len(result) if isinstance(result, list | tuple) else int(result is not None)
    return times, found


async def figure(run: Run, backend: Backend) -> list[Row]:
    """p95 of each lookup over 200 different residents, numbers and areas (warm)."""
    plan = size(run)
    template = await cache.template(backend, plan)
    url = f"sqlite+aiosqlite:///{template}" if backend.name == "sqlite" else pg_url(template)
    db = Database(url)  # read only: the cached history itself
    try:
        async with db.transaction() as s:
            residents = (
                (await s.execute(select(Person.id).where(Person.role == "resident").order_by(func.random())))
                .scalars()
                .all()[:SAMPLES]
            )
            ids = [1 + (plan.tickets * k) // SAMPLES for k in range(SAMPLES)]
            numbers = (await s.execute(select(Ticket.number).where(Ticket.id.in_(ids)))).scalars().all()
            repo = Tickets(s)
            mine, mine_rows = await timed(s, [partial(repo.for_resident, p) for p in residents])
            by_number, _ = await timed(s, [partial(repo.by_number, n) for n in numbers])
            areas = [
                (history.community(i), f"{history.community(i)}-{side}")
                for i in range(history.COMMUNITIES)
                for side in ("north", "south")
            ]
            late, late_rows = await timed(s, [partial(overdue, s, c, [a], NOW) for c, a in areas])
    finally:
        await db.dispose()
    label = f"{plan.tickets:,} tickets"

    def row(name: str, times: list[float], note: str) -> Row:
        p95 = pct(times, 95)
        return Row(
            f"4 lookups: {name}, p95",
            backend.name,
            ms(p95),
            "< 10 ms",
            p95 < 0.010,
            [f"{label}; p50 {ms(pct(times, 50))}, max {ms(max(times))}; {note}"],
        )

    return [
        row("/mytickets", mine, f"{mine_rows / len(mine):.1f} tickets per resident shown"),
        row("ticket by number", by_number, f"{len(by_number)} numbers"),
        row("/overdue for one area", late, f"{late_rows / len(late):.1f} deadlines listed per area"),
    ]
