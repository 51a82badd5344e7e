"""The office's view through python-telegram-bot and the fake Bot API: /stats arrives as a photo whose
caption has the numbers (in Chinese for a Chinese reader), /export as a document, residents refused."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from PIL import Image

from dispatch import staff
from tests.support.telegram_journeys import BOSS, RESIDENT, cast, file_request, grab, minute
from tests.support.tgbot import TgBot

CHEN, LIU = 8400, 8500


async def office(bot: TgBot) -> None:
    """The usual cast, a supervisor who reads Chinese and a manager; one request filed and taken."""
    await cast(bot)
    assert bot.app is not None
    async with bot.app.db.transaction() as s:
        for role, name, uid, language in (
            (staff.Role.SUPERVISOR, "陈主管", CHEN, "zh_CN"),
            (staff.Role.MANAGER, "Liu", LIU, "en"),
        ):
            person = await staff.add(s, role=role, name=name, now=bot.clock.now(), telegram_id=str(uid))
            person.language = language
    number = await file_request(bot)
    await minute(bot)
    await grab(bot, number)


async def test_stats_week_is_a_chart_with_the_numbers(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    shown = await bot.say(BOSS, "/stats week", expect="Requests: 1")
    assert shown.method == "sendPhoto" and isinstance(shown.photo, bytes)
    image = Image.open(io.BytesIO(shown.photo))
    assert image.format == "PNG" and image.height > image.width
    assert "Response (filed → accepted): median 1 minute" in shown.content
    assert shown.button_texts == ["Promises missed", "Technicians", "Hotspots", "Recurring faults"]
    details = await bot.tap(BOSS, "Technicians", expect="Zhang: 1 jobs")
    assert details.method == "sendMessage"
    chinese = await bot.say(CHEN, "/stats week", expect="报修：1 单")
    assert chinese.method == "sendPhoto" and "本周" in chinese.content
    assert "统计" in chinese.content and "按时接单 100%" in chinese.content


async def test_export_arrives_as_a_spreadsheet(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    sent = await bot.say(LIU, "/export", expect="1 rows")
    assert sent.method == "sendDocument" and isinstance(sent.document, bytes)
    assert sent.raw["document"]["file_name"].endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(sent.document), read_only=True).active.iter_rows(values_only=True))
    assert rows[1][rows[0].index("Technician")] == "Zhang"


async def test_a_resident_asking_for_figures_is_told_politely(tgbot: TgBot) -> None:
    bot = tgbot
    await office(bot)
    reply = await bot.say(RESIDENT, "/stats week", expect="Figures are for supervisors and managers")
    assert reply.method == "sendMessage"
