"""The web app (Starlette): webhooks and callbacks register their routes here; served by uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from bot.app import App

# Channel modules append a function that returns their routes for a running app.
ROUTE_PROVIDERS: list[Callable[[App], list[BaseRoute]]] = []


def create_web_app(app: App) -> Starlette:
    """The Starlette application for a built App: health plus every registered provider's routes."""

    async def healthz(request: Request) -> Response:
        from sqlalchemy import text

        try:
            async with app.db.transaction() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure makes the instance unhealthy
            return JSONResponse({"ok": False, "database": str(type(exc).__name__)}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    for provider in ROUTE_PROVIDERS:
        routes.extend(provider(app))
    return Starlette(routes=routes)
