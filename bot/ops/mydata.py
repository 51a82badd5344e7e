"""The web side of /mydata on WeChat: `GET /mydata/TOKEN` gives the resident's ZIP archive, once."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from dispatch.privacy import downloads

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

REFUSED = {
    "unknown": ("这个链接无效。", "This link is not valid."),
    "used": ("这个链接已经用过了：每个链接只能用一次。", "This link was used already: each link works once."),
    "expired": ("这个链接已过期。", "This link has expired."),
    "gone": ("这个文件已不存在。", "This file no longer exists."),
}
ASK_AGAIN = ("请在聊天中再次发送 /mydata 获取新链接。", "Send /mydata in the chat for a new link.")


def refused_page(reason: str) -> HTMLResponse:
    """Why the link gives nothing, in both languages (the reader is not known here)."""
    zh, en = REFUSED.get(reason, REFUSED["unknown"])
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>报修 · Baoxiu</title></head>"
        f'<body><p id="refused">{zh}<br>{en}</p><p>{ASK_AGAIN[0]}<br>{ASK_AGAIN[1]}</p></body></html>'
    )
    return HTMLResponse(body, status_code=410 if reason in ("used", "expired", "gone") else 404)


def mydata_routes(app: App) -> list[BaseRoute]:
    """`/mydata/{token}`: always served (a link is only ever made for a resident who asked in chat)."""

    async def download(request: Request) -> Response:
        now = app.services.clock.now()
        try:
            async with app.db.transaction() as session:
                found = await downloads.redeem(
                    session, request.path_params["token"], now, app.services.mydata_link
                )
        except downloads.DownloadRefused as refused:
            log.info("mydata: download refused (%s)", refused.reason)
            return refused_page(refused.reason)
        try:
            data = await asyncio.to_thread(app.services.media.read, found.sha256)
        except (FileNotFoundError, ValueError):
            return refused_page("gone")
        return Response(
            data,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{found.name}"',
                "Cache-Control": "no-store",
            },
        )

    return [Route("/mydata/{token}", download)]
