"""Wiring: settings -> database, site, media, router, sender, channels. Built on demand, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.delivery import Delivery
from bot.outbox import OutboxSender
from bot.settings import Settings
from bot.timers import TimerLoop
from dispatch.clock import Clock, SystemClock
from dispatch.site import Site, load_site
from handlers.context import Services
from handlers.limits import InboundLimits
from handlers.router import Router
from storage.db import Database
from storage.media import MediaStore

if TYPE_CHECKING:
    from telegram import Update

    from bot.telegram.polling import DurablePoller
    from bot.web import WebServer

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything one bot process runs, built from settings."""

    settings: Settings
    db: Database
    site: Site
    services: Services
    router: Router
    sender: OutboxSender
    channels: dict[str, Delivery] = field(default_factory=dict)
    # The timer loop when this process runs one (for /healthz and /metrics).
    timers: TimerLoop | None = None

    async def start(self) -> None:
        """Bring the database schema up to date and apply group chats named in settings."""
        await self.db.upgrade()
        await self._bind_groups_from_settings()

    async def _bind_groups_from_settings(self) -> None:
        from dispatch import staff

        wanted = {
            "technicians": self.settings.telegram_technicians_chat_id,
            "supervisors": self.settings.telegram_supervisors_chat_id,
        }
        if not any(wanted.values()):
            return
        now = self.services.clock.now()
        async with self.db.transaction() as session:
            for community in self.site.communities:
                for purpose, chat_id in wanted.items():
                    if chat_id:
                        await staff.bind_group(
                            session, community.code, "telegram", purpose, str(chat_id), by=None, now=now
                        )

    async def close(self) -> None:
        """Release the database."""
        await self.db.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None, site: Site | None = None) -> App:
    """Create the app's parts; channels are attached by whoever runs them."""
    clock = clock or SystemClock()
    site = site or load_site(settings.baoxiu_site_file)
    db = Database(settings.database_url)
    media = MediaStore(settings.baoxiu_media_dir, max_bytes=settings.baoxiu_max_photo_mb * 1024 * 1024)
    services = Services(
        site=site,
        clock=clock,
        media=media,
        default_language=settings.baoxiu_language,
        max_photos=settings.baoxiu_max_photos,
        policy=settings.policy(),
    )
    channels: dict[str, Delivery] = {}
    sender = OutboxSender(db, channels, clock, lease=settings.baoxiu_outbox_lease)
    limits = InboundLimits(
        flood_burst=settings.baoxiu_flood_burst,
        flood_per_minute=settings.baoxiu_flood_per_minute,
        max_open_per_day=settings.baoxiu_max_open_tickets_per_day,
    )
    router = Router(db, services, wake=sender.wake, limits=limits)
    return App(settings, db, site, services, router, sender, channels)


def timer_loop(app: App) -> TimerLoop:
    """The interval job that fires due timers (remembered on the app for /healthz)."""
    app.timers = TimerLoop(app.db, app.services, app.sender, app.settings.baoxiu_timer_interval)
    return app.timers


class TelegramRunner:
    """The Telegram channel of one process: updates by polling or webhook, plus the outbox sender.

    Polling confirms an update to Telegram only after it was handled (bot/telegram/polling.py). In webhook
    mode the web app receives updates (bot/telegram/webhook.py, served by whoever runs the WebServer) and
    this runner registers the webhook.
    """

    def __init__(self, app: App, *, sender_interval: float | None = None) -> None:
        from bot.telegram.app import build_application

        self.app = app
        self.application = build_application(app.settings, app.router)
        self.sender_interval = sender_interval or app.settings.baoxiu_outbox_interval
        self._sender_task: asyncio.Task[None] | None = None
        self.poller: DurablePoller | None = None

    async def start(self, *, poll_interval: float = 0.0, long_poll: int = 10) -> None:
        """Connect, start delivering, start polling (or register the webhook)."""
        from bot.telegram.app import handle_update, publish_commands
        from bot.telegram.delivery import TelegramDelivery
        from bot.telegram.limits import telegram_limits
        from bot.telegram.polling import DurablePoller

        settings = self.app.settings
        application = self.application
        await application.initialize()
        await publish_commands(application.bot)
        username = application.bot.username
        self.app.services.deep_links["telegram"] = lambda payload: f"https://t.me/{username}?start={payload}"
        self.app.sender.limits["telegram"] = telegram_limits(settings)
        self.app.channels["telegram"] = TelegramDelivery(
            application.bot, self.app.services.media, in_flight=settings.telegram_connections
        )
        self._sender_task = asyncio.create_task(self.app.sender.run_forever(self.sender_interval))
        await application.start()
        if settings.telegram_webhook_url and settings.telegram_webhook_secret is not None:
            from bot.telegram.webhook import register, webhook_path

            secret = settings.telegram_webhook_secret.get_secret_value()
            await register(application.bot, settings.telegram_webhook_url, secret)
            path = webhook_path(settings.telegram_webhook_url)
            log.info("Telegram bot @%s takes updates by webhook at %s", username, path)
            return
        max_bytes = settings.baoxiu_max_photo_mb * 1024 * 1024
        bot, router = application.bot, self.app.router

        async def handle(update: Update) -> bool:
            result = await handle_update(update, bot, router, max_bytes)
            return result is None or not result.failed

        await bot.delete_webhook(drop_pending_updates=False)
        self.poller = DurablePoller(bot, handle, long_poll=long_poll, poll_interval=poll_interval)
        self.poller.start()
        log.info("Telegram bot @%s is polling", username)

    async def stop(self) -> None:
        """Stop polling and delivering; what is left in the outbox waits for the next start."""
        application = self.application
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
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
    from bot.wechat.channel import WeChatRunner

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
    from bot.web import WebServer

    web = WebServer(app)
    try:
        await web.start()
    except OSError as exc:
        if app.settings.telegram_webhook:
            raise
        log.warning(
            "web server not started (%s:%s: %s); /healthz and /metrics are off", web.host, web.port, exc
        )
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
        await asyncio.Event().wait()
    finally:
        timers.stop()
        await runner.stop()
        if web is not None:
            await web.stop()
