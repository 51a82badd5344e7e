"""/mydata on WeChat's Official Account: a one-time link on the bot's web server, expiring in minutes,
that gives the resident's ZIP; a reused, expired or forged link gives nothing."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from tests.support.wechat_journeys import RESIDENT, file_request
from tests.support.wxbot import WxBot

OTHER = "oyORnuP8q7ou2gfYjqLzSIWZother"
LINK = re.compile(r"http://bot/mydata/\S+")


async def _link(bot: WxBot, user: str) -> str:
    sent = await bot.say(user, "/mydata", expect="/mydata/")
    found = LINK.search(sent.text)
    assert found, sent.text
    return found.group(0).removeprefix("http://bot")


async def test_the_link_gives_the_residents_own_archive_once(wxbot: WxBot) -> None:
    bot = wxbot
    assert bot.app is not None
    bot.app.services.web_url = "http://bot"  # what the web server sets when it starts
    await bot.add_staff("Wang", wecom="wang.shifu")
    number = await file_request(bot)
    await file_request(bot, OTHER, description="卫生间灯不亮了")
    assert bot.http is not None
    path = await _link(bot, RESIDENT)
    assert "10" in bot.server.texts(RESIDENT)[-1]  # minutes the link works

    response = await bot.http.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert [t["number"] for t in data["tickets"]] == [number]
    assert "卫生间灯不亮了" not in archive.read("data.json").decode()
    assert any(name.startswith(f"photos/{number}/") for name in archive.namelist())

    again = await bot.http.get(path)
    assert again.status_code == 410 and "used already" in again.text
    forged = await bot.http.get(path[:-3] + "abc")
    assert forged.status_code == 404 and "not valid" in forged.text

    late = await _link(bot, RESIDENT)
    bot.clock.advance(timedelta(minutes=11))
    expired = await bot.http.get(late)
    assert expired.status_code == 410 and "expired" in expired.text
