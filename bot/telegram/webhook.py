"""Telegram webhook mode: updates POSTed to the web app, checked by the secret token, answered once stored.

Telegram sends every update with the header `X-Telegram-Bot-Api-Secret-Token` set to the secret given to
setWebhook. A request without it, or with another value (compared in constant time), gets 403 and nothing is
read. An accepted update is committed to the inbox (bot/inbox.py) and answered at once; it is handled right
after, in order per chat, and a worker that dies in between leaves it for any worker's sweep. The router's
event log makes a repeat harmless. When the update could not be stored (database down) the answer is 500,
so Telegram retries.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot, Update

from bot.telegram.inbound import CHANNEL
from bot.telegram.stored import chat_key, event_id, for_app

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram/webhook"
MAX_BODY = 1 << 20  # Telegram's updates are small; a megabyte is plenty


def webhook_path(url: str | None) -> str:
    """The local path of the public webhook URL (a proxy in front forwards it unchanged)."""
    path = urlsplit(url).path if url else ""
    return path.rstrip("/") or DEFAULT_PATH


def secret_matches(given: str | None, secret: str) -> bool:
    """Constant-time comparison of the header with the configured secret."""
    if not given or not secret:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def webhook_routes(app: App) -> list[BaseRoute]:
    """The webhook route for the web app, when webhook mode is configured."""
    settings = app.settings
    if not settings.telegram_webhook or settings.telegram_webhook_secret is None:
        return []
    secret = settings.telegram_webhook_secret.get_secret_value()
    max_bytes = settings.baoxiu_max_photo_mb * 1024 * 1024

    async def receive(request: Request) -> Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            return JSONResponse({"ok": False, "error": "not JSON"}, status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        delivery = app.channels.get("telegram")
        bot: Bot | None = getattr(delivery, "bot", None)
        if bot is None:
            return JSONResponse({"ok": False, "error": "starting"}, status_code=503)
        try:
            update = Update.de_json(data, bot)
        except Exception:
            log.warning("unreadable update %s", data.get("update_id"))
            return JSONResponse({"ok": False, "error": "unreadable update"}, status_code=400)
        try:
            await app.inbox.accept(CHANNEL, event_id(update.update_id), chat_key(update), data)
        except Exception:
            log.exception("update %s could not be stored", update.update_id)
            return JSONResponse({"ok": False}, status_code=500)
        return JSONResponse({"ok": True})

    for_app(app, max_bytes)  # handles what the inbox holds
    return [Route(webhook_path(settings.telegram_webhook_url), receive, methods=["POST"])]


async def register(bot: Bot, url: str, secret: str, *, max_connections: int = 40) -> None:
    """Tell Telegram where to send updates (idempotent: every worker may call it at start)."""
    await bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        max_connections=max_connections,
        drop_pending_updates=False,
    )
