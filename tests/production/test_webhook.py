"""Webhook mode in one process: the secret token, a repeated update, /healthz and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app, timer_loop
from bot.channels import TelegramRunner
from bot.ops.metrics import parse
from storage.models import InboundEvent, OutboxMessage
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.tgbot import settings_for
from tests.support.webclient import web_client

SECRET = "s3cret-token_for-the-webhook-0123"
URL = "https://bot.example.test/hooks/telegram"
U = 6001


@pytest.fixture
async def webhook_app(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[FakeTelegramServer, App]]:
    async with FakeTelegramServer() as server:
        settings = settings_for(
            server, db_url, tmp_path / "media", telegram_webhook_url=URL, telegram_webhook_secret=SECRET
        )
        app = build_app(settings)
        await app.start()
        runner = TelegramRunner(app, sender_interval=0.02)
        await runner.start()
        try:
            yield server, app
        finally:
            await runner.stop()
            await app.close()


async def counts(app: App) -> tuple[int, int]:
    async with app.db.transaction() as s:
        events = (await s.execute(select(func.count()).select_from(InboundEvent))).scalar_one()
        rows = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    return int(events), int(rows)


async def test_secret_token_is_required_and_a_repeat_has_one_effect(
    webhook_app: tuple[FakeTelegramServer, App],
) -> None:
    server, app = webhook_app
    assert server.webhook_url == URL  # registered at start, instead of polling
    assert not server.calls("getUpdates")
    server.push_message(U, "/help", language_code="en")
    [update] = server.take_updates()
    async with web_client(app) as client:
        path = "/hooks/telegram"
        for headers in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            {"X-Telegram-Bot-Api-Secret-Token": ""},
        ):
            answer = await client.post(path, json=update, headers=headers)
            assert answer.status_code == 403
        almost = SECRET[:-1] + ("x" if SECRET[-1] != "x" else "y")
        assert (
            await client.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": almost})
        ).status_code == 403
        assert await counts(app) == (0, 0)  # nothing was read, nothing recorded
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert (await client.post(path, content=b"not json", headers=good)).status_code == 400
        for _ in range(3):  # Telegram repeats an update it thinks was not received
            answer = await client.post(path, json=update, headers=good)
            assert answer.status_code == 200
        reply = await server.wait_for_message(U, contains="/repair", timeout=10)
        assert reply is not None
        events, rows = await counts(app)
        assert events == 1 and rows == 1
        await server.wait_for(lambda: len(server.sent_to(U)) == 1)
        # GET is not accepted on the webhook path.
        assert (await client.get(path, headers=good)).status_code == 405


async def test_healthz_and_metrics(webhook_app: tuple[FakeTelegramServer, App]) -> None:
    server, app = webhook_app
    timers = timer_loop(app)
    async with web_client(app) as client:
        before = await client.get("/healthz")
        assert before.status_code == 503 and before.json()["timers"] == "not running"
        await timers.tick()
        health = await client.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json()["database"] == "ok"
        server.push_message(U, "hello", language_code="en")
        [update] = server.take_updates()
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert (await client.post("/hooks/telegram", json=update, headers=headers)).status_code == 200
        await server.wait_for_message(U, timeout=10)
        text = (await client.get("/metrics")).text
    samples = {(name, tuple(sorted(labels.items()))): value for name, labels, value in parse(text)}
    handled = samples[("baoxiu_updates_handled_total", (("channel", "telegram"), ("outcome", "handled")))]
    assert handled >= 1
    assert ("baoxiu_outbox_depth", (("channel", "telegram"),)) in samples
    assert ("baoxiu_timer_lag_seconds", ()) in samples
    assert ("baoxiu_outbox_oldest_age_seconds", (("channel", "telegram"),)) in samples
    assert any(
        name == "baoxiu_delivery_failures_total" or name.startswith("baoxiu_messages_sent")
        for name, _ in samples
    )
    # Stale loops make the worker unhealthy.
    from datetime import timedelta

    assert app.timers is not None and app.timers.last_run_at is not None
    app.timers.last_run_at -= timedelta(minutes=10)
    async with web_client(app) as client:
        stale = await client.get("/healthz")
    assert stale.status_code == 503 and stale.json().get("timers_stale")
