"""The office's view in the WeCom app: /stats arrives as an image followed by the numbers, /export as a file
(through WeCom's temporary media upload, within its limits)."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from PIL import Image

from tests.support.wechat_journeys import file_request
from tests.support.wxbot import WxBot

BOSS, MANAGER = "chen.zhuguan", "liu.jingli"


async def test_stats_and_export_on_wecom(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom="wang.shifu")
    await bot.add_staff("Chen", "supervisor", wecom=BOSS, language="zh_CN")
    await bot.add_staff("Liu", "manager", wecom=MANAGER)
    await file_request(bot)
    after = len(bot.server.sent_to(BOSS))
    text = await bot.work_say(BOSS, "/stats week", expect="报修：1 单")
    sent = bot.server.sent_to(BOSS)[after:]
    image = next(s for s in sent if s.kind == "image")
    assert sent.index(image) < sent.index(text)  # the chart first, then the words under it
    assert Image.open(io.BytesIO(image.media)).format == "PNG"
    assert ("work", image.media) in bot.server.uploads
    # The numbers are longer than a card shows: they come as text, then a card with the detail views.
    card = await bot.server.wait_for_message(BOSS, after=after + sent.index(text) + 1)
    assert card.kind == "template_card" and "维修师傅" in card.labels
    after = len(bot.server.sent_to(MANAGER))
    await bot.work_say(MANAGER, "/export", expect="1 rows")
    document = next(s for s in bot.server.sent_to(MANAGER)[after:] if s.kind == "file")
    assert document.text.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(document.media), read_only=True).active.iter_rows(values_only=True))
    assert rows[0][0] == "Number" and rows[1][0].startswith("BX-")
