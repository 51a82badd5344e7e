"""Residents' data over python-telegram-bot and the fake Bot API: /mydata arrives as a ZIP document holding
only the resident's own requests; /forgetme asks, then erases, and the resident is a stranger after."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from storage.models import Ticket
from tests.support.telegram_journeys import RESIDENT, TECH, cast, file_request
from tests.support.tgbot import TgBot


async def test_mydata_is_a_zip_document_and_forgetme_waits_for_open_requests(tgbot: TgBot) -> None:
    bot = tgbot
    await cast(bot)
    number = await file_request(bot)
    sent = await bot.say(RESIDENT, "/mydata", expect="Everything we hold about you")
    assert sent.method == "sendDocument" and isinstance(sent.document, bytes)
    assert sent.raw["document"]["file_name"].endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(sent.document))
    data = json.loads(archive.read("data.json"))
    assert [t["number"] for t in data["tickets"]] == [number]
    assert data["tickets"][0]["phone"] == "13812345678"
    assert any(name.startswith(f"photos/{number}/") for name in archive.namelist())

    waiting = await bot.say(RESIDENT, "/forgetme", expect="open requests")
    assert number in waiting.content and not waiting.button_texts
    refused = await bot.say(TECH, "/forgetme", expect="for residents")
    assert refused.method == "sendMessage"

    await bot.say(RESIDENT, f"/status {number}", expect=number)
    await bot.tap(RESIDENT, "Cancel this request", expect="Why do you want to cancel")
    await bot.tap(RESIDENT, "myself", expect="is cancelled")
    await bot.say(RESIDENT, "/forgetme", expect="Erase your data?")
    await bot.tap(RESIDENT, "Erase my data", expect="your data is erased")
    await bot.say(RESIDENT, "/mytickets", expect="no repair requests")
    assert bot.app is not None
    async with bot.app.db.transaction() as s:
        shown = await s.scalar(select(Ticket.phone).where(Ticket.number == number))
    assert shown == ""
