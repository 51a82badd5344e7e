"""The figures against a hand-made event log with known answers: times, promises, fixes, ratings, hotspots,
recurring faults; the community's local day (Shanghai), a ticket filed before midnight and finished after,
and tickets just outside the day. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from dispatch import staff
from dispatch.figures import Period, Scope, build
from dispatch.site import Site
from storage.db import Database
from storage.models import Person, Ticket, TicketEvent

# 2026-11-24 in Shanghai is 2026-11-23 16:00 to 2026-11-24 16:00 UTC.
DAY = Period(date(2026, 11, 24), date(2026, 11, 24))
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 the next morning


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in November 2026, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class Log:
    """Writes tickets and their events the way the bot does (status, stamps, the event rows)."""

    def __init__(self, session: Any, resident: int) -> None:
        self.session = session
        self.resident = resident
        self.n = 0

    async def ticket(
        self,
        created: datetime,
        steps: list[tuple[str, str | None, float, int | None]],
        *,
        urgency: str = "normal",
        place: tuple[str, str, str] = ("1", "1", "1203"),
        category: str = "plumbing",
        holder: int | None = None,
        rating: int | None = None,
        comment: str = "",
        source: str = "telegram",
    ) -> Ticket:
        """`steps`: (kind, to_status, minutes after filing, actor) in order."""
        self.n += 1
        status = "offered"
        for _, to_status, _, _ in steps:
            status = to_status or status
        ticket = Ticket(
            number=f"BX-T-{self.n:04d}",
            community="demo",
            status=status,
            resident_id=self.resident,
            scope="in_unit",
            building=place[0],
            unit=place[1],
            room=place[2],
            area="north" if place[0] in ("1", "2") else "south",
            phone="13812345678",
            description="test",
            category=category,
            urgency=urgency,
            technician_id=holder,
            source=source,
            created_at=created,
            updated_at=created,
            rating=rating,
            comment=comment,
        )
        self.session.add(ticket)
        await self.session.flush()
        self.session.add(
            TicketEvent(ticket_id=ticket.id, at=created, kind="submitted", to_status="submitted", data={})
        )
        self.session.add(
            TicketEvent(ticket_id=ticket.id, at=created, kind="offered", to_status="offered", data={})
        )
        for kind, to_status, minutes, actor in steps:
            at = created + timedelta(minutes=minutes)
            self.session.add(
                TicketEvent(
                    ticket_id=ticket.id, at=at, actor_id=actor, kind=kind, to_status=to_status, data={}
                )
            )
        return ticket


async def people(session: Any) -> tuple[int, int, int]:
    now = local(1, 9)
    resident = Person(name="Resident", role="resident", created_at=now)
    session.add(resident)
    a = await staff.add(session, role=staff.Role.TECHNICIAN, name="Tech A", now=now)
    b = await staff.add(session, role=staff.Role.TECHNICIAN, name="Tech B", now=now)
    await session.flush()
    return resident.id, a.id, b.id


CLOSE = [("confirmed", "confirmed", 0.0, None), ("closed", "closed", 0.0, None)]


@pytest.fixture
async def report_of_the_day(db: Database, site: Site) -> Any:
    async with db.transaction() as s:
        resident, a, b = await people(s)
        log = Log(s, resident)
        visit = [
            ("contacted", None, 14.0, a),
            ("arrived", "on_site", 64.0, a),
            ("completed", "completed", 124.0, a),
        ]
        # T1: normal, accepted after 4 min, contacted, on site after an hour, done 2 h 4 min after filing.
        await log.ticket(
            local(24, 9), [("taken", "assigned", 4.0, a), *visit, *_at(CLOSE, 180)], holder=a, rating=5
        )
        # T2: urgent: accepted after 8 min (grab 5 min: 3 late), on site 150 min after (arrival 2 h: 30 late),
        # not fixed -> rework, fixed the second time; rated 2 with a comment.
        await log.ticket(
            local(24, 9, 30),
            [
                ("taken", "assigned", 8.0, a),
                ("contacted", None, 28.0, a),
                ("arrived", "on_site", 158.0, a),
                ("completed", "completed", 208.0, a),
                ("rework", "rework", 300.0, None),
                ("arrived", "on_site", 400.0, a),
                ("completed", "completed", 420.0, a),
                *_at(CLOSE, 500),
            ],
            urgency="urgent",
            holder=a,
            rating=2,
            comment="leaked again",
            source="wechat",
        )
        # T3: filed at 23:50, accepted at 23:55 (the grab window's last moment), done at 00:30 the next day.
        await log.ticket(
            local(24, 23, 50),
            [
                ("taken", "assigned", 5.0, a),
                ("contacted", None, 10.0, a),
                ("arrived", "on_site", 30.0, a),
                ("completed", "completed", 40.0, a),
            ],
            place=("3", "1", "101"),
            category="civil",
            holder=a,
        )
        # Just outside the day: 23:59 the evening before.
        await log.ticket(local(23, 23, 59), [("cancelled", "cancelled", 1.0, None)], place=("2", "1", "0102"))
        # Just inside: midnight, cancelled at once (no promise counts for it).
        await log.ticket(local(24, 0, 0), [("cancelled", "cancelled", 1.0, None)], place=("2", "1", "0102"))
        # T5: cancelled before anyone took it.
        await log.ticket(local(24, 10), [("cancelled", "cancelled", 2.0, None)], place=("1", "2", "0501"))
        # T6: nobody has taken it yet: the grab window is missed and still open.
        await log.ticket(local(24, 10), [], place=("2", "1", "0101"))
        # T7: taken by A, handed back, taken by B, done.
        await log.ticket(
            local(24, 11),
            [
                ("taken", "assigned", 2.0, a),
                ("handed_back", "offered", 30.0, a),
                ("taken", "assigned", 40.0, b),
                ("arrived", "on_site", 60.0, b),
                ("completed", "completed", 90.0, b),
                *_at(CLOSE, 120),
            ],
            place=("1", "1", "0802"),
            holder=b,
            rating=4,
        )
        # The same flat and fault twice before, within 90 days: with T1 and T2, four times.
        for day in (1, 20):
            await log.ticket(datetime(2026, 10 if day == 1 else 11, day, 2, 0, tzinfo=UTC), [])
    async with db.transaction() as s:
        return await build(s, site, Scope(community="demo"), DAY, NOW)


def _at(steps: list[tuple[str, str | None, float, int | None]], minutes: float) -> list[Any]:
    return [(kind, to, minutes, actor) for kind, to, _, actor in steps]


async def test_counts_are_of_the_communitys_local_day(report_of_the_day: Any) -> None:
    r = report_of_the_day
    assert r.total == 7  # the one filed at 23:59 the day before is not counted; the one at midnight is
    assert r.by_status == {"closed": 3, "cancelled": 2, "completed": 1, "offered": 1}
    assert r.by_category == {"plumbing": 6, "civil": 1}
    assert r.by_urgency == {"normal": 6, "urgent": 1}
    assert r.by_source == {"telegram": 6, "wechat": 1}
    assert r.per_day == ((date(2026, 11, 24), 7),)


async def test_times_from_the_first_time_each_step_was_reached(report_of_the_day: Any) -> None:
    r = report_of_the_day
    # Response, filed -> first accepted: 4, 8, 5, 2 (the hand-back's first acceptance counts).
    assert r.response.count == 4
    assert r.response.mean == pytest.approx(4.75)
    assert r.response.median == pytest.approx(4.5)
    assert r.response.p90 == pytest.approx(7.1)
    # Arrival, first accepted -> first on site: 60, 150, 25 (across midnight), 58.
    assert r.arrival.median == pytest.approx(59)
    assert r.arrival.mean == pytest.approx(73.25)
    # Completion, filed -> first completed: 124, 208, 40 (filed 23:50, done 00:30), 90.
    assert r.completion.median == pytest.approx(107)


async def test_promises_kept_missed_and_still_open(report_of_the_day: Any) -> None:
    r = report_of_the_day
    grab = r.promise("grab")
    assert (grab.met, grab.missed, grab.pending) == (3, 2, 0)
    assert grab.percent == pytest.approx(60)
    # The untaken one is still late (since 10:05 yesterday); the urgent one was 3 minutes late.
    assert [(m.late, m.outstanding) for m in grab.misses] == [(24 * 60 + 55, True), (3, False)]
    assert (r.promise("contact").met, r.promise("contact").missed) == (4, 0)
    arrival = r.promise("arrival")
    assert (arrival.met, arrival.missed) == (0, 1) and arrival.misses[0].late == 30
    same_day = r.promise("same_day")
    assert (same_day.met, same_day.missed) == (4, 0)  # accepted at 23:55: the deadline is 20:00 next day


async def test_fixes_satisfaction_and_follow_up(report_of_the_day: Any) -> None:
    r = report_of_the_day
    assert (r.judged, r.first_time_fixed, r.reworked) == (3, 2, 1)
    assert r.first_time_fix_rate == pytest.approx(200 / 3)
    assert r.rated == 3 and r.rating_mean == pytest.approx(11 / 3) and r.happy == 2
    assert [c.text for c in r.comments] == ["leaked again"]
    assert (r.completed, r.followed) == (4, 3)  # the one finished after midnight awaits the resident
    assert r.followup_rate == pytest.approx(75)


async def test_technicians_hotspots_and_recurring_faults(report_of_the_day: Any) -> None:
    r = report_of_the_day
    by_name = {t.name: t for t in r.technicians}
    a, b = by_name["Tech A"], by_name["Tech B"]
    assert (a.jobs, a.handbacks, a.reworks, a.arrival) == (3, 1, 1, 60)
    assert a.rating == pytest.approx(3.5) and a.rated == 2
    assert (b.jobs, b.handbacks, b.arrival, b.rating) == (1, 0, 58, 4)
    assert [(p.building, p.tickets) for p in r.buildings] == [("1", 4), ("2", 2), ("3", 1)]
    assert r.units[0].building == "1" and r.units[0].unit == "1" and r.units[0].tickets == 3
    assert len(r.recurring) == 1
    repeat = r.recurring[0]
    assert (repeat.building, repeat.unit, repeat.room, repeat.category, repeat.count) == (
        "1",
        "1",
        "1203",
        "plumbing",
        4,
    )


async def test_a_supervisor_sees_only_their_area(db: Database, site: Site, report_of_the_day: Any) -> None:
    async with db.transaction() as s:
        south = await build(s, site, Scope(community="demo", areas=("south",)), DAY, NOW)
        nobody = await build(s, site, Scope(community="elsewhere"), DAY, NOW)
    assert south.total == 1 and south.by_category == {"civil": 1}
    assert nobody.total == 0 and nobody.response.median is None and nobody.promise("grab").percent is None
