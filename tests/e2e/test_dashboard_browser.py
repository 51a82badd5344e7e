"""The dashboard in a real headless browser: Debian's chromium driven by Playwright, against the bot's own
web server. Log in through the one-time link from /dashboard, read the figures, switch to Chinese, look at it
on a phone's screen (screenshots kept in the test's folder); a reused or expired link and a missing session
are refused.

Without /usr/bin/chromium the test is skipped with the reason, except under CI (CI=true), where it must run
(`.ci/run` installs chromium with apt-get when it is missing).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.ops.web import WebServer
from bot.settings import load_settings
from dispatch.clock import FakeClock
from tests.support.dialogs import file_ticket, tick
from tests.support.harness import Harness, add_staff

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


def _browser_or_skip() -> Any:
    missing = ""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing = "the playwright package is not installed (pip install -e '.[dev]')"
    if not missing and not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        missing = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the dashboard's browser test must run under CI: {missing}")
        pytest.skip(missing)
    return async_playwright


@pytest.fixture
async def site_up(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[App, Harness, str]]:
    """The bot's app with its web server on a free port, a supervisor and one request taken."""
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'dash.db'}",
        baoxiu_media_dir=tmp_path / "media",
        baoxiu_dashboard_secret="a-test-secret-for-the-cookies",
        telegram_bot_token="",
    )
    app = build_app(settings, clock=clock)
    await app.start()
    h = Harness(app.db, app.services, clock)
    await add_staff(h, "Wang", user="tech")
    await add_staff(h, "Chen", "supervisor", user="boss", areas=("north",))
    await file_ticket(h)
    await tick(h, 1)
    await h.tap("tech", "Accept")
    web = WebServer(app, "127.0.0.1", 0)
    await web.start()
    try:
        yield app, h, f"http://127.0.0.1:{web.port}"
    finally:
        await web.stop()
        await app.close()


async def link(h: Harness) -> str:
    """What the supervisor's /dashboard answers: the one-time link."""
    shown = await h.say("boss", "/dashboard")
    found = re.search(r"http://\S+/dashboard/login\?t=\S+", shown[-1].text)
    assert found, shown[-1].text
    return found.group(0)


async def test_log_in_read_the_figures_and_refuse_old_links(
    site_up: tuple[App, Harness, str], tmp_path: Path
) -> None:
    async_playwright = _browser_or_skip()
    app, h, base = site_up
    first = await link(h)
    assert first.startswith(base)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await (await browser.new_context(viewport=PHONE, locale="en-US")).new_page()
            response = await page.goto(first)
            assert response is not None and response.ok
            assert page.url == f"{base}/dashboard"  # the link became a session cookie
            assert (await page.text_content("#total")) == "1"
            assert "north" in (await page.text_content("#scope") or "")
            assert "1 minute" in (await page.text_content("#response") or "")
            assert "Wang" in (await page.text_content("#technicians") or "")
            assert await page.is_visible("svg")  # the charts, drawn on the server
            # Fits a phone: nothing wider than the screen but the tables, which scroll inside their box.
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"]
            await page.screenshot(path=str(tmp_path / "dashboard-en.png"), full_page=True)
            await page.click("text=中文")
            assert (await page.text_content("h1")) == "报修数据看板"
            assert "报修单数" in (await page.text_content("#figures") or "")
            await page.screenshot(path=str(tmp_path / "dashboard-zh.png"), full_page=True)
            # A filter outside the supervisor's areas is refused and their own scope shown.
            await page.goto(f"{base}/dashboard?area=south&lang=en")
            assert "not one of yours" in (await page.text_content("#error") or "")

            # The same link a second time: refused, even in another browser.
            other = await (await browser.new_context(viewport=PHONE)).new_page()
            response = await other.goto(first)
            assert response is not None and response.status == 403
            assert "used already" in (await other.text_content("#refused") or "")
            # No session: refused.
            response = await other.goto(f"{base}/dashboard")
            assert response is not None and response.status == 403
            # A link opened after its minutes are up: refused.
            late = await link(h)
            h.clock.advance(app.services.dashboard_link + timedelta(seconds=1))
            response = await other.goto(late)
            assert response is not None and response.status == 403
            assert "expired" in (await other.text_content("#refused") or "")
        finally:
            await browser.close()
    assert (tmp_path / "dashboard-en.png").stat().st_size > 10_000
