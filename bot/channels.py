"""Running the channels of one process: Telegram (polling or webhook), WeChat (the web server with the
callbacks), the web server for health and metrics, the timer loop and the outbox sender, until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import App, timer_loop
from bot.ops.heap import freeze_startup_heap
from bot.ops.web import WebServer
from bot.outbox.answers import AnswerNow
from bot.telegram import stored
from bot.telegram.app import build_application, publish_commands
from bot.telegram.outbound import TelegramDelivery
from bot.telegram.polling import DurablePoller
from bot.telegram.rates import telegram_limits
from bot.telegram.webhook import register, webhook_path
from bot.wechat.channel import WeChatChannel

log = logging.getLogger(__name__)


class TelegramRunner:
    """The Telegram channel of one process: updates by polling or webhook, plus the outbox sender.

    Polling confirms an update to Telegram only after it was stored in the inbox (bot/telegram/polling.py,
    bot/telegram/stored.py). In webhook mode the web app receives updates (bot/telegram/webhook.py, served by
    whoever runs the WebServer) and this runner registers the webhook.
    """

    def __init__(self, app: App, *, sender_interval: float | None = None) -> None:

        self.app = app
        self.application = build_application(app.settings, app.router)
        self.sender_interval = sender_interval or app.settings.baoxiu_outbox_interval
        self._sender_task: asyncio.Task[None] | None = None
        self.poller: DurablePoller | None = None
        self.answers: AnswerNow | None = None

    async def start(self, *, poll_interval: float = 0.0, long_poll: int = 10) -> None:
        """Connect, start delivering, start polling (or register the webhook)."""

        settings = self.app.settings
        application = self.application
        await application.initialize()
        await publish_commands(application.bot)
        username = application.bot.username
        self.app.services.deep_links["telegram"] = lambda payload: f"https://t.me/{username}?start={payload}"
        self.app.sender.limits["telegram"] = telegram_limits(settings)
        delivery = TelegramDelivery(
            application.bot,
            self.app.services.media,
            in_flight=settings.telegram_connections,
            timeout=settings.telegram_send_timeout,
        )
        self.app.channels["telegram"] = delivery
        # A tap's answer leaves straight after its handler's commit (a grab storm's losers wait for nothing).
        self.answers = AnswerNow(delivery)
        self.app.router.answerers["telegram"] = self.answers
        self._sender_task = asyncio.create_task(self.app.sender.run_forever(self.sender_interval))
        await application.start()
        updates = stored.for_app(self.app, settings.baoxiu_max_photo_mb * 1024 * 1024)
        # What a killed predecessor of this worker stored and did not handle goes first, in its chats' order.
        if taken := await self.app.inbox.take_back():
            log.info("%d stored event(s) of a stopped predecessor handled", taken)
        if settings.telegram_webhook_url and settings.telegram_webhook_secret is not None:
            secret = settings.telegram_webhook_secret.get_secret_value()
            await register(application.bot, settings.telegram_webhook_url, secret)
            path = webhook_path(settings.telegram_webhook_url)
            log.info("Telegram bot @%s takes updates by webhook at %s", username, path)
            return
        bot = application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        self.poller = DurablePoller(
            bot, updates.store_polled, long_poll=long_poll, poll_interval=poll_interval
        )
        self.poller.start()
        log.info("Telegram bot @%s is polling", username)

    async def stop(self) -> None:
        """Stop polling and delivering; what is left in the outbox waits for the next start."""
        application = self.application
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if self.answers is not None:
            self.app.router.answerers.pop("telegram", None)
            await self.answers.close()
        if application.running:
            await application.stop()
        if self._sender_task is not None:
            self._sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender_task
        await application.shutdown()


async def run_channels(app: App) -> None:
    """Every configured channel (Telegram polling; WeChat callbacks on the web server), the timers and the
    outbox sender, until cancelled."""
    if not app.settings.uses_wechat:
        await run_telegram(app)
        return

    telegram = TelegramRunner(app) if app.settings.has_telegram else None
    wechat = WeChatRunner(app, run_sender=telegram is None)
    timers = timer_loop(app)
    await wechat.start()
    # One web server per process: WeChat's serves every route (Telegram's webhook, /healthz, /metrics);
    # without WeChat callbacks, ours does.
    web = await start_web(app) if wechat.server is None else None
    if telegram is not None:
        await telegram.start()
    timers.start()
    freeze_startup_heap()
    try:
        await asyncio.Event().wait()
    finally:
        timers.stop()
        if telegram is not None:
            await telegram.stop()
        await wechat.stop()
        if web is not None:
            await web.stop()


async def start_web(app: App) -> WebServer | None:
    """The web server (/healthz, /metrics, webhooks). Webhook mode needs it; for polling it is a bonus, so a
    taken port is only a warning there."""

    web = WebServer(app)
    try:
        await web.start()
    except OSError as exc:
        if app.settings.telegram_webhook:
            raise
        log.warning(
            "web server not started (%s:%s: %s); /healthz and /metrics are off", web.host, web.port, exc
        )
        if not app.settings.baoxiu_worker_id.strip():
            # Another process may serve that port under the same default name: this one takes a name of its
            # own, so the two never take each other's chats.
            app.sender.rename()
        return None
    return web


async def run_telegram(app: App) -> None:
    """Take Telegram updates (polling or webhook), fire timers and deliver the outbox until cancelled."""
    runner = TelegramRunner(app)
    timers = timer_loop(app)
    web = await start_web(app)
    try:
        await runner.start()
        timers.start()
        freeze_startup_heap()
        await asyncio.Event().wait()
    finally:
        timers.stop()
        await runner.stop()
        if web is not None:
            await web.stop()


async def cancel(task: asyncio.Task[None]) -> None:
    """Cancel a task and wait for it to end.

    On Python 3.11 `asyncio.wait_for` may swallow a cancellation that arrives just as the awaited event is
    set (the sender's wake-up), so cancel again until the task is really done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()


class WeChatRunner:
    """The WeChat part of `baoxiu run`: the web server with the callbacks (bot.web.WebServer, uvicorn), and
    the outbox sender when no other channel runs it."""

    def __init__(
        self,
        app: App,
        *,
        run_sender: bool,
        host: str | None = None,
        port: int | None = None,
        sender_interval: float | None = None,
    ) -> None:
        self.app = app
        self.run_sender = run_sender
        self.host = host or app.settings.baoxiu_web_host
        self.port = port if port is not None else app.settings.baoxiu_web_port
        self.sender_interval = sender_interval or app.settings.baoxiu_outbox_interval
        self.channel = WeChatChannel.of(app)
        self.server: WebServer | None = None  # None when only the group robot is configured
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind the port, serve the callbacks (and every other route of the web app), deliver."""

        await self.channel.prepare()
        if self.channel.route_list:
            self.server = WebServer(self.app, self.host, self.port)
            await self.server.start()
            self.port = self.server.port
            paths = ", ".join(getattr(r, "path", "") for r in self.channel.route_list)
            log.info("WeChat callbacks on http://%s:%s (%s)", self.host, self.port, paths)
        if self.run_sender:
            self._sender = asyncio.create_task(self.app.sender.run_forever(self.sender_interval))

    async def stop(self) -> None:
        """Stop serving and delivering; what is left in the outbox waits for the next start."""
        if self.server is not None:
            await self.server.stop()
        if self._sender is not None:
            await cancel(self._sender)
        await self.channel.close()
