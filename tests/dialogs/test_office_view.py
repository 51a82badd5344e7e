"""The office's view in chat: /stats (summary, chart, details), /export (a spreadsheet), /dashboard (a link),
and everyone else politely refused; bad periods answered with what to type instead."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from PIL import Image

from tests.support.dialogs import U, file_ticket, tick
from tests.support.harness import Harness, add_staff

BOSS = "boss"
MANAGER = "manager"
TECH = "tech"


async def office(h: Harness) -> None:
    """A technician, a supervisor of the north area, a manager; one request filed and taken."""
    await add_staff(h, "Wang", user=TECH)
    await add_staff(h, "Chen", "supervisor", user=BOSS, areas=("north",))
    await add_staff(h, "Liu", "manager", user=MANAGER)
    await file_ticket(h)
    await tick(h, 1)
    await h.tap(TECH, "Accept")


async def test_stats_answers_with_a_chart_the_numbers_and_detail_buttons(harness: Harness) -> None:
    h = harness
    await office(h)
    shown = await h.say(BOSS, "/stats week")
    assert len(shown) == 1
    reply = shown[0]
    assert len(reply.photos) == 1
    chart = Image.open(io.BytesIO(h.services.media.read(reply.photos[0])))
    assert chart.format == "PNG" and chart.width >= 600 and chart.height > chart.width  # tall, for a phone
    assert "Requests: 1" in reply.text and "this week" in reply.text
    assert "Taken within the grab window 100%" in reply.text
    assert reply.labels() == ["Promises missed", "Technicians", "Hotspots", "Recurring faults"]
    details = await h.tap(BOSS, "Technicians")
    assert "Wang: 1 jobs" in details[-1].text
    details = await h.tap(BOSS, "Promises missed")
    assert "Resident contacted in time" in details[-1].text
    details = await h.tap(BOSS, "Hotspots")
    assert "Building 1" in details[-1].text


async def test_a_supervisor_sees_their_areas_only(harness: Harness) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhou", "supervisor", user="south", areas=("south",))
    shown = await h.say("south", "/stats today")
    assert "Requests: 0" in shown[-1].text


async def test_residents_and_technicians_are_told_politely(harness: Harness) -> None:
    h = harness
    await office(h)
    for who in (U, TECH):
        for command in ("/stats", "/export", "/dashboard"):
            shown = await h.say(who, command)
            assert shown[-1].text.startswith("Figures are for supervisors and managers"), (who, command)
            assert not shown[-1].photos and not shown[-1].documents


async def test_bad_periods_get_a_clear_answer(harness: Harness) -> None:
    h = harness
    await office(h)
    cases = {
        "/stats fortnight": 'I don\'t know the period "fortnight"',
        "/stats 2031-01": "2031-01 has not begun yet",
        "/stats 2025-01-01 2026-11-20": "longer than a year",
        "/stats 2026-11-20 2026-11-01": "ends before it starts",
        "/export 2031-01": "2031-01 has not begun yet",
    }
    for command, answer in cases.items():
        who = MANAGER if command.startswith("/export") else BOSS
        shown = await h.say(who, command)
        assert answer in shown[-1].text, (command, shown[-1].text)
        assert not shown[-1].photos


async def test_a_manager_exports_the_month_as_a_spreadsheet(harness: Harness) -> None:
    h = harness
    await office(h)
    shown = await h.say(MANAGER, "/export month")
    reply = shown[-1]
    assert "1 rows" in reply.text and len(reply.documents) == 1
    document = reply.documents[0]
    assert document.name.endswith(".xlsx")
    book = load_workbook(io.BytesIO(h.services.media.read(document.ref)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Number", "Community", "Filed")
    assert "Phone" not in rows[0] and "Room" not in rows[0]  # never the resident's contacts in a chat
    assert rows[1][0].startswith("BX-") and rows[1][rows[0].index("Technician")] == "Wang"
    # Supervisors have /stats; the export is the manager's.
    shown = await h.say(BOSS, "/export")
    assert "Exports are for managers" in shown[-1].text and not shown[-1].documents


async def test_dashboard_link_for_the_office(harness: Harness) -> None:
    h = harness
    await office(h)
    shown = await h.say(BOSS, "/dashboard")
    assert "switched off" in shown[-1].text
    h.services.dashboard_url = "https://office.example"
    shown = await h.say(BOSS, "/dashboard")
    assert "https://office.example/dashboard/login?t=" in shown[-1].text
    assert "10 minutes" in shown[-1].text


async def test_a_detail_button_of_last_month_still_answers_for_that_month(harness: Harness) -> None:
    h = harness
    await office(h)
    await h.say(BOSS, "/stats week")
    h.clock.advance(timedelta(days=40))
    details = await h.tap(BOSS, "Technicians")
    assert "Wang: 1 jobs" in details[-1].text
