"""The dashboard: a read-only page of figures for supervisors and managers, on the bot's web app.

`/dashboard` in chat sends a one-time link (`/dashboard/login?t=...`, dispatch/logins.py); opening it sets a
session cookie signed with BAOXIU_DASHBOARD_SECRET (HMAC-SHA256: the person's id and when it ends) and goes
to `/dashboard`, which shows the figures of the person's own scope (bot/ops/dashboard_page.py). Everything is
rendered on the server, charts as inline SVG, the style sheet from the package: nothing comes from the
internet, so it works in an office that is offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dispatch import logins
from dispatch.figures import may_view
from handlers.i18n import Translator, normalize_language
from storage.models import Person

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
COOKIE = "baoxiu_dashboard"
SESSION = timedelta(hours=12)
STATIC = Path(__file__).parent / "static"


class Sessions:
    """Signed session cookies: `<person id>.<ends, epoch seconds>.<signature>`."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def make(self, person_id: int, now: datetime) -> str:
        """A cookie value for this person, good for SESSION from now."""
        payload = f"{person_id}.{int((now + SESSION).timestamp())}"
        return f"{payload}.{self._sign(payload)}"

    def read(self, value: str, now: datetime) -> int | None:
        """The person id of a valid, unexpired cookie; None for anything else."""
        person, _, rest = value.partition(".")
        ends, _, signature = rest.partition(".")
        if not (person.isdigit() and ends.isdigit()):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{person}.{ends}")):
            return None
        if int(ends) <= now.timestamp():
            return None
        return int(person)


def _secret(app: App) -> bytes:
    configured = app.settings.baoxiu_dashboard_secret
    if configured is not None:
        return configured.get_secret_value().encode()
    log.warning(
        "BAOXIU_DASHBOARD_SECRET is not set: dashboard sessions end when this process stops and are not "
        "shared between workers"
    )
    return secrets.token_bytes(32)


def language(request: Request, person: Person | None, default: str) -> str:
    """?lang= first, then the person's language, then the browser's."""
    asked = request.query_params.get("lang")
    if asked:
        return normalize_language(asked, default)
    if person is not None and person.language:
        return person.language
    return normalize_language(request.headers.get("accept-language", "").split(",")[0], default)


REFUSED = {
    "unknown": ("这个链接无效。", "This link is not valid."),
    "used": ("这个链接已经用过了：每个链接只能用一次。", "This link was used already: each link works once."),
    "expired": ("这个链接已过期。", "This link has expired."),
    "not_allowed": ("数据看板只对主管和经理开放。", "The dashboard is for supervisors and managers."),
    "session": ("请先登录。", "Please log in first."),
}
ASK_AGAIN = ("请在聊天中发送 /dashboard 获取新链接。", "Send /dashboard in the chat for a new link.")


def refused_page(reason: str) -> HTMLResponse:
    """Why the dashboard won't open, in both languages (we may not know the reader yet)."""
    zh, en = REFUSED.get(reason, REFUSED["unknown"])
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>报修 · Baoxiu</title><link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>'
        f'<body><main class="refused"><h1>报修数据看板 · Dashboard</h1><p id="refused">{zh}<br>{en}</p>'
        f"<p>{ASK_AGAIN[0]}<br>{ASK_AGAIN[1]}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=403)


def dashboard_routes(app: App) -> list[BaseRoute]:
    """The dashboard's routes when BAOXIU_DASHBOARD is on (none otherwise)."""
    if not app.settings.baoxiu_dashboard:
        return []
    sessions = Sessions(_secret(app))
    link_lifetime = app.services.dashboard_link

    async def login(request: Request) -> Response:
        now = app.services.clock.now()
        try:
            async with app.db.transaction() as session:
                person = await logins.redeem(session, request.query_params.get("t", ""), now, link_lifetime)
                person_id = person.id
        except logins.LoginRefused as refused:
            log.info("dashboard: login refused (%s)", refused.reason)
            return refused_page(refused.reason)
        response = RedirectResponse("/dashboard", status_code=303)
        secure = request.url.scheme == "https" or app.services.dashboard_url.startswith("https://")
        response.set_cookie(
            COOKIE,
            sessions.make(person_id, now),
            max_age=int(SESSION.total_seconds()),
            path="/dashboard",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/dashboard", status_code=303)
        response.delete_cookie(COOKIE, path="/dashboard")
        return response

    async def page(request: Request) -> Response:
        from bot.ops import dashboard_page  # Jinja2 and the charts load when someone opens the page

        now = app.services.clock.now()
        person_id = sessions.read(request.cookies.get(COOKIE, ""), now)
        if person_id is None:
            return refused_page("session")
        async with app.db.transaction() as session:
            person = await session.get(Person, person_id)
            if person is None or not may_view(person):
                return refused_page("not_allowed")
            t = Translator(language(request, person, app.services.default_language))
            html = await dashboard_page.render(session, app.services, person, request.query_params, t)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name != "dashboard.css":
            return Response("not found", status_code=404)
        return Response(
            (STATIC / name).read_bytes(),
            media_type="text/css",
            headers={"Cache-Control": "max-age=3600"},
        )

    return [
        Route("/dashboard", page),
        Route("/dashboard/login", login),
        Route("/dashboard/logout", logout, methods=["GET", "POST"]),
        Route("/dashboard/static/{name}", static),
    ]
