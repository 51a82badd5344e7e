"""Digests as scheduled jobs: sent exactly once per deployment with two workers, still sent after a restart
that missed the moment, skipped when nothing happened, moved or turned off by the settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from dispatch import digests, schedules
from handlers.context import Services
from handlers.timer_sweep import sweep_all
from storage.db import Database
from storage.models import FollowUp, Ticket, Timer
from tests.support.dialogs import file_ticket, tick
from tests.support.harness import Harness, add_staff

BOSS = "boss"
MANAGER = "manager"
# Harness START is Monday 2026-11-23, 09:00 in Shanghai; the next daily digest is Tuesday 08:00 (00:00 UTC).
TUESDAY_0830 = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


def calendar(h: Harness, **settings: object) -> schedules.Calendar:
    return digests.calendar(h.services.site, digests.Settings(**settings))  # type: ignore[arg-type]


async def start(db: Database, services: Services) -> None:
    """What every worker does at start-up (bot.app.App.start)."""
    async with db.transaction() as session:
        await schedules.prepare(session, services.calendar, services.clock.now())


async def occurrences(db: Database) -> list[Timer]:
    async with db.transaction() as session:
        stmt = select(Timer).where(Timer.key.is_not(None)).order_by(Timer.key)
        return list((await session.execute(stmt)).scalars().all())


def digests_in(h: Harness, user: str) -> list[str]:
    return [text for text in h.texts(user) if "summary" in text]


async def test_each_digest_goes_out_once_with_two_workers(harness: Harness, db_url: str) -> None:
    h = harness
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    await file_ticket(h)
    h.services.calendar = calendar(h)
    other_db = Database(db_url)
    other = Services(
        site=h.services.site,
        clock=h.clock,
        media=h.services.media,  # the workers share the media folder, as they share the database
        calendar=calendar(h),
    )
    try:
        await asyncio.gather(start(h.db, h.services), start(other_db, other))
        keys = [t.key for t in await occurrences(h.db)]
        assert len(keys) == len(set(keys)) == 4  # daily and weekly, of "demo" and of everywhere ("*")
        assert "digest.daily.demo@2026-11-24" in keys and "digest.weekly.demo@2026-W49" in keys
        h.clock.set(TUESDAY_0830)
        await asyncio.gather(sweep_all(h.db, h.services), sweep_all(other_db, other))
        await h.flush()
    finally:
        await other_db.dispose()
    sent = digests_in(h, BOSS)
    assert len(sent) == 1, sent
    assert "Daily summary for 2026-11-23" in sent[0] and "Requests: 1" in sent[0]
    # Each occurrence fired once and wrote the next one, once.
    rows = {t.key: t.status for t in await occurrences(h.db)}
    assert rows["digest.daily.demo@2026-11-24"] == rows["digest.daily.*@2026-11-24"] == "fired"
    assert rows["digest.daily.demo@2026-11-25"] == "pending"


async def test_a_restart_after_the_moment_still_sends_it_once(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    await file_ticket(h)
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    # The bot is down from Monday to Tuesday 10:00, past 08:00; it starts again.
    h.clock.set(TUESDAY_0830 + timedelta(hours=1, minutes=30))
    await start(h.db, h.services)
    await tick(h, 0)
    await tick(h, 1)
    assert len(digests_in(h, BOSS)) == 1
    await start(h.db, h.services)  # and once more: nothing is sent twice
    await tick(h, 60)
    assert len(digests_in(h, BOSS)) == 1


async def test_a_quiet_community_gets_no_digest(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    h.clock.set(TUESDAY_0830)
    await tick(h, 0)
    assert digests_in(h, BOSS) == []
    # ... and the schedule goes on: Wednesday's occurrence is waiting.
    assert "digest.daily.demo@2026-11-25" in [t.key for t in await occurrences(h.db) if t.status == "pending"]


async def test_open_work_and_low_ratings_are_in_the_daily_digest(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Wang", user="tech")
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    await file_ticket(h)
    await tick(h, 1)
    async with h.db.transaction() as session:  # an earlier job of the flat, rated 1 on Monday
        old = (await session.execute(select(Ticket))).scalars().one()
        session.add(FollowUp(ticket_id=old.id, reason="unhappy", status="open", created_at=h.clock.now()))
        old.rating, old.comment = 1, "Still dripping"
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    h.clock.set(TUESDAY_0830)
    await tick(h, 0)
    text = digests_in(h, BOSS)[-1]
    assert "Low ratings:" in text and "★ Still dripping" in text
    # An emergency filed Monday 09:00 (3 minutes to take it) and still not taken on Tuesday at 08:30.
    assert "Open now: 1" in text and "overdue: 1" in text
    assert "Nobody has taken it · 23 hours 27 minutes late" in text


async def test_the_weekly_digest_goes_to_managers_on_monday(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Liu", "manager", user=MANAGER)
    await file_ticket(h)
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    h.clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # Monday 08:30 the week after
    await tick(h, 0)
    sent = digests_in(h, MANAGER)
    assert len(sent) == 1 and "Weekly summary, 2026-11-23 – 2026-11-29" in sent[0]


async def test_settings_move_or_turn_off_the_digests(harness: Harness) -> None:
    h = harness
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    moved = calendar(h, daily_at=time(9, 30))
    await start(h.db, Services(site=h.services.site, clock=h.clock, media=h.services.media, calendar=moved))
    daily = {t.key: t for t in await occurrences(h.db)}["digest.daily.demo@2026-11-24"]
    assert daily.due_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC) and daily.status == "pending"
    off = calendar(h, daily_at=None, weekly=None)
    await start(h.db, Services(site=h.services.site, clock=h.clock, media=h.services.media, calendar=off))
    assert {t.status for t in await occurrences(h.db)} == {"cancelled"}


async def test_the_digest_reads_in_chinese(harness: Harness) -> None:
    h = harness
    await add_staff(h, "陈主管", "supervisor", user=BOSS, areas=("north",), language="zh_CN")
    await file_ticket(h)
    h.services.calendar = calendar(h)
    await start(h.db, h.services)
    h.clock.set(TUESDAY_0830)
    await tick(h, 0)
    text = next(t for t in h.texts(BOSS) if t.startswith("🗓"))
    assert text.startswith("🗓 每日汇总：2026-11-23") and "报修：1 单" in text and "未完结：1" in text
