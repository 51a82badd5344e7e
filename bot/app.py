"""Wiring: settings -> database, site, media, router, sender, channels. Built on demand, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from bot.outbox import Delivery, OutboxSender
from bot.settings import Settings
from bot.timers import TimerLoop
from dispatch.clock import Clock, SystemClock
from dispatch.site import Site, load_site
from handlers.context import Services
from handlers.router import Router
from storage.db import Database
from storage.media import MediaStore

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
    sender = OutboxSender(db, channels, clock)
    router = Router(db, services, wake=sender.wake)
    return App(settings, db, site, services, router, sender, channels)


def timer_loop(app: App) -> TimerLoop:
    """The interval job that fires due timers."""
    return TimerLoop(app.db, app.services, app.sender, app.settings.baoxiu_timer_interval)


class TelegramRunner:
    """The Telegram channel of one process: PTB polling plus the outbox sender."""

    def __init__(self, app: App, *, sender_interval: float | None = None) -> None:
        from bot.telegram.app import build_application

        self.app = app
        self.application = build_application(app.settings, app.router)
        self.sender_interval = sender_interval or app.settings.baoxiu_outbox_interval
        self._sender_task: asyncio.Task[None] | None = None

    async def start(self, *, poll_interval: float = 0.0, long_poll: int = 10) -> None:
        """Connect, start delivering, start polling."""
        from bot.telegram.app import publish_commands
        from bot.telegram.delivery import TelegramDelivery

        application = self.application
        await application.initialize()
        await publish_commands(application.bot)
        username = application.bot.username
        self.app.services.deep_links["telegram"] = lambda payload: f"https://t.me/{username}?start={payload}"
        self.app.channels["telegram"] = TelegramDelivery(application.bot, self.app.services.media)
        self._sender_task = asyncio.create_task(self.app.sender.run_forever(self.sender_interval))
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=poll_interval, timeout=long_poll, drop_pending_updates=False
        )
        log.info("Telegram bot @%s is polling", username)

    async def stop(self) -> None:
        """Stop polling and delivering; what is left in the outbox waits for the next start."""
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if self._sender_task is not None:
            self._sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender_task
        await application.shutdown()


async def run_telegram(app: App) -> None:
    """Poll Telegram, fire timers and deliver the outbox until cancelled."""
    runner = TelegramRunner(app)
    timers = timer_loop(app)
    await runner.start()
    timers.start()
    try:
        await asyncio.Event().wait()
    finally:
        timers.stop()
        await runner.stop()
