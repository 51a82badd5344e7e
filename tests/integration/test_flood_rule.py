"""Flood control decided in one statement on PostgreSQL follows the same rule as the general path."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handlers import flood
from storage.db import Database
from storage.models import InboundEvent, InboundRate


async def test_one_statement_path_decides_as_the_general_rule(db: Database) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip("the one-statement path is PostgreSQL's; SQLite runs the general rule")
    rng = random.Random(7)
    interval, tolerance = timedelta(seconds=2), timedelta(seconds=8)  # 30 a minute, a burst of 5
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    decisions: dict[str, list[str]] = {"one": [], "two": []}
    for _ in range(300):
        now += timedelta(seconds=rng.choice([0, 0, 0.1, 0.5, 1, 2, 3, 5, 70]))
        async with db.transaction() as session:
            for name, rule in (("one", flood._throttle_in_one), ("two", flood._throttle_in_two)):
                decisions[name].append(await rule(session, "t", name, now, interval, tolerance))
        async with db.transaction() as session:
            rows = {r.external_id: r for r in (await session.execute(select(InboundRate))).scalars()}
        assert (rows["one"].next_at, rows["one"].warned_at) == (rows["two"].next_at, rows["two"].warned_at)
    assert decisions["one"] == decisions["two"]
    # The timeline went over the limit, warned and dropped, and recovered: every branch was compared.
    assert {"", "warn", "drop"} <= set(decisions["one"])


async def test_with_the_event_log_in_the_same_statement_a_repeat_is_refused_and_not_counted(
    db: Database,
) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip("the one-statement path is PostgreSQL's; SQLite runs the general rule")
    rng = random.Random(11)
    interval, tolerance = timedelta(seconds=2), timedelta(seconds=8)
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    logged: list[str | None] = []
    general: list[str] = []
    for i in range(200):
        now += timedelta(seconds=rng.choice([0, 0, 0.1, 0.5, 1, 2, 3, 5, 70]))
        async with db.transaction() as session:
            logged.append(
                await flood._throttle_in_one(session, "t", "one", now, interval, tolerance, f"e{i}")
            )
            general.append(await flood._throttle_in_two(session, "t", "two", now, interval, tolerance))
        if i and rng.random() < 0.3:  # the platform delivers an earlier event again
            async with db.transaction() as session:
                again = f"e{rng.randrange(i)}"
                assert (
                    await flood._throttle_in_one(session, "t", "one", now, interval, tolerance, again) is None
                )
        async with db.transaction() as session:
            rows = {r.external_id: r for r in (await session.execute(select(InboundRate))).scalars()}
        assert (rows["one"].next_at, rows["one"].warned_at) == (rows["two"].next_at, rows["two"].warned_at)
    assert logged == general and {"", "warn", "drop"} <= set(general)
    async with db.transaction() as session:
        recorded = (await session.execute(select(InboundEvent.event_id))).scalars().all()
    assert sorted(recorded) == sorted(f"e{i}" for i in range(200))
