"""The bot's web app over ASGI for tests, reading effects right after each answer."""

from __future__ import annotations

import httpx

from bot.app import App
from bot.ops.web import create_web_app


def web_client(app: App) -> httpx.AsyncClient:
    """A client of the bot's web app. A callback or webhook is answered once stored and handled right after
    (bot/inbox.py); each answer here also waits for that handling, since the tests read its effects next."""

    async def settle(_: httpx.Response) -> None:
        await app.inbox.settle()

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_web_app(app)),
        base_url="http://bot",
        event_hooks={"response": [settle]},
    )
