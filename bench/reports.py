"""Figure 8: the monthly report (dispatch/figures) for one community and for the whole deployment."""

from __future__ import annotations

from datetime import date

from bench import cache, history
from bench.common import DATA, NOW, Backend, Row, Run, Timer, median, ms, pg_url
from dispatch.figures import Scope, build
from dispatch.figures.periods import month
from dispatch.site import load_site
from storage.db import Database

TARGET = 1.0
REPEATS = 3


def size(run: Run) -> history.Plan:
    """The history the reports read."""
    return history.Plan(20_000, 10_000) if run.quick else history.Plan(1_000_000, 100_000)


async def figure(run: Run, backend: Backend) -> list[Row]:
    """Median of 3 warm runs of the October report: community c000, then every community."""
    plan = size(run)
    template = await cache.template(backend, plan)
    url = f"sqlite+aiosqlite:///{template}" if backend.name == "sqlite" else pg_url(template)
    site = load_site(history.write_site(DATA))
    period = month(2026, 10, date(2026, 11, 23))
    db = Database(url)  # read only: the cached history itself
    rows = []
    try:
        for label, scope in (
            ("one community", Scope(community=history.community(0))),
            ("whole deployment", Scope()),
        ):
            seconds, report = [], None
            for _ in range(REPEATS + 1):  # the first run warms the caches
                async with db.transaction() as session:
                    with Timer() as t:
                        report = await build(session, site, scope, period, NOW)
                seconds.append(t.seconds)
            assert report is not None
            took = median(seconds[1:])
            rows.append(
                Row(
                    f"8 reports: October, {label}",
                    backend.name,
                    ms(took),
                    f"< {TARGET:.0f} s",
                    took < TARGET,
                    [
                        f"{plan.tickets:,} tickets; {report.total:,} in the month, "
                        f"{len(report.technicians)} technicians, {len(report.recurring)} recurring faults; "
                        f"first (cold) run {ms(seconds[0])}"
                    ],
                )
            )
    finally:
        await db.dispose()
    return rows
