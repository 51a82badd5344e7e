"""Wiring: settings -> database, site, media, router, sender. Built on demand, never at import; the channels
are attached by bot/channels.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot.inbox import Inbox
from bot.inbox_slots import by_backend
from bot.outbox.channel import Delivery
from bot.outbox.sender import OutboxSender
from bot.settings import Settings
from bot.timer_loop import TimerLoop
from dispatch import digests, schedules, staff
from dispatch.clock import Clock, SystemClock
from dispatch.planned import calendar as planned
from dispatch.privacy import retention
from dispatch.site import Site, load_site
from handlers.context import Services
from handlers.flood import InboundLimits
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
    # Telegram updates and WeChat callbacks, committed before they are answered (bot/inbox.py).
    inbox: Inbox
    channels: dict[str, Delivery] = field(default_factory=dict)
    # The timer loop when this process runs one (for /healthz and /metrics).
    timers: TimerLoop | None = None
    # Telegram's updates through the inbox, once registered (bot/telegram/stored.py: for_app).
    stored_updates: object | None = None

    async def start(self) -> None:
        """Bring the database schema up to date, apply group chats named in settings, and make sure each
        scheduled job's next occurrence is written (once, whichever worker gets there first)."""
        await self.db.upgrade()
        await self._bind_groups_from_settings()
        async with self.db.transaction() as session:
            await schedules.prepare(session, self.services.calendar, self.services.clock.now())

    async def _bind_groups_from_settings(self) -> None:
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
        """Let inbox events being handled finish; release the database."""
        await self.inbox.close()
        await self.db.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None, site: Site | None = None) -> App:
    """Create the app's parts; channels are attached by whoever runs them."""
    clock = clock or SystemClock()
    site = site or load_site(settings.baoxiu_site_file)
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    media = MediaStore(settings.baoxiu_media_dir, max_bytes=settings.baoxiu_max_photo_mb * 1024 * 1024)
    services = Services(
        site=site,
        clock=clock,
        media=media,
        default_language=settings.baoxiu_language,
        max_photos=settings.baoxiu_max_photos,
        policy=settings.policy(),
        # Scheduled jobs: the digests, each asset's planned maintenance and the daily retention sweep.
        calendar=planned.combined(digests.calendar(site, settings.digests()), planned.calendar(site))
        + retention.calendar(settings.retention(), media, site.default.timezone),
        # Filled in with the web server's address when it starts, unless the settings name the address.
        dashboard_url=settings.baoxiu_dashboard_url if settings.baoxiu_dashboard else "",
        dashboard_link=timedelta(minutes=settings.baoxiu_dashboard_link_minutes),
        mydata_staff_notes=settings.baoxiu_mydata_staff_notes,
        # The Official Account can't send a file to a resident: /mydata gives a link there.
        link_channels=frozenset({"wechat"}),
        # Filled in with the web server's address when it starts, unless the settings name the address.
        web_url=settings.baoxiu_dashboard_url,
        mydata_link=timedelta(minutes=settings.baoxiu_mydata_link_minutes),
    )
    channels: dict[str, Delivery] = {}
    sender = OutboxSender(db, channels, clock, lease=settings.baoxiu_outbox_lease, owner=settings.worker_id())
    limits = InboundLimits(
        flood_burst=settings.baoxiu_flood_burst,
        flood_per_minute=settings.baoxiu_flood_per_minute,
        max_open_per_day=settings.baoxiu_max_open_tickets_per_day,
    )
    router = Router(db, services, wake=sender.wake_lanes, limits=limits, wake_taps=sender.wake_taps)
    inbox = Inbox(
        db,
        clock.now,
        sender.owner,
        lease=settings.baoxiu_inbox_lease,
        concurrency=settings.baoxiu_inbox_concurrency or by_backend(db.is_sqlite),
    )
    sender.patience = inbox.quiet
    return App(settings, db, site, services, router, sender, inbox, channels)


def timer_loop(app: App) -> TimerLoop:
    """The interval job that fires due timers (remembered on the app for /healthz)."""
    app.timers = TimerLoop(
        app.db, app.services, app.sender, app.settings.baoxiu_timer_interval, inbox=app.inbox
    )
    return app.timers
