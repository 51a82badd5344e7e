"""The web app (Starlette), served by uvicorn: Telegram's webhook, WeChat's callbacks, health and metrics.

Besides the channels' routes it serves `/healthz` (the database answers, this worker's timer and outbox loops
ran recently: 200, else 503 with what is wrong) and `/metrics` (Prometheus text format, bot/ops/metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.ops import metrics
from bot.ops.dashboard import dashboard_routes
from bot.ops.mydata import mydata_routes
from bot.telegram.webhook import webhook_routes
from bot.wechat.channel import wechat_routes

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

# The channels' routes for a running app (each gives none when its channel is not configured), the
# dashboard's (none when it is off) and the /mydata download links.
CHANNEL_ROUTES: tuple[Callable[[App], list[BaseRoute]], ...] = (
    webhook_routes,
    wechat_routes,
    dashboard_routes,
    mydata_routes,
)
# A loop is "alive" when it ran within this many of its intervals (and at least this many seconds).
STALE_INTERVALS = 5
STALE_MIN_SECONDS = 30.0


def loop_ages(app: App, now: datetime) -> dict[str, float | None]:
    """Seconds since the outbox sender's and the timer loop's last pass (None: not running here)."""
    timers = getattr(app, "timers", None)
    return {
        "outbox": (now - app.sender.last_run_at).total_seconds(),
        "timers": (now - timers.last_run_at).total_seconds()
        if timers is not None and timers.last_run_at is not None
        else None,
    }


def create_web_app(app: App) -> Starlette:
    """The Starlette application for a built App: health, metrics and every registered provider's routes."""
    settings = app.settings

    async def healthz(request: Request) -> Response:
        from sqlalchemy import text

        body: dict[str, object] = {"ok": True, "database": "ok"}
        status = 200
        try:
            async with app.db.transaction() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure makes the instance unhealthy
            body.update(ok=False, database=type(exc).__name__)
            status = 503
        now = app.services.clock.now()
        limits = {
            "outbox": settings.baoxiu_outbox_interval,
            "timers": settings.baoxiu_timer_interval,
        }
        for name, age in loop_ages(app, now).items():
            if age is None:
                body[name] = "not running"
                if name == "timers" and getattr(app, "timers", None) is not None:
                    body.update(ok=False)
                    status = 503
                continue
            stale = max(STALE_MIN_SECONDS, STALE_INTERVALS * limits[name])
            body[name] = round(age, 1)
            if age > stale:
                body.update(ok=False)
                body[name + "_stale"] = True
                status = 503
        return JSONResponse(body, status_code=status)

    async def metrics_endpoint(request: Request) -> Response:
        now = app.services.clock.now()
        timers = getattr(app, "timers", None)
        loops = {"outbox": app.sender.last_run_at, "timers": timers.last_run_at if timers else None}
        try:
            snap = await metrics.snapshot(app.db, now, loops)
        except Exception as exc:
            log.warning("metrics: database unavailable: %s", exc)
            snap = metrics.Snapshot()
        return Response(metrics.exposition(snap), media_type="text/plain; version=0.0.4; charset=utf-8")

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics_endpoint)]
    for provider in CHANNEL_ROUTES:
        routes.extend(provider(app))
    return Starlette(routes=routes)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot process decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing."""
        yield


class WebServer:
    """Serves create_web_app(app) with uvicorn on host:port inside the bot's event loop."""

    def __init__(self, app: App, host: str | None = None, port: int | None = None) -> None:
        self.app = app
        self.host = host or app.settings.baoxiu_web_host
        self.port = port if port is not None else app.settings.baoxiu_web_port
        self.server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind (OSError when the port is taken) and serve."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        settings = self.app.settings
        if settings.baoxiu_dashboard and not settings.baoxiu_dashboard_url:
            # /dashboard links point here unless the settings name the address people open.
            self.app.services.dashboard_url = f"http://{self.host}:{self.port}"
        if not self.app.services.web_url:
            # /mydata links on WeChat point here unless the settings name the address people open.
            self.app.services.web_url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            create_web_app(self.app),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            log_config=None,
        )
        self.server = _QuietServer(config)
        self._task = asyncio.create_task(self.server.serve(sockets=[sock]), name="web")
        while not self.server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the web server stopped during start-up")
            await asyncio.sleep(0.01)
        extra = ", /dashboard" if self.app.settings.baoxiu_dashboard else ""
        log.info("web server on http://%s:%s (/healthz, /metrics%s)", self.host, self.port, extra)

    async def stop(self) -> None:
        """Finish requests in flight, then stop."""
        if self.server is None or self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.server = self._task = None
