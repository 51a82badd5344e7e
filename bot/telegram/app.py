"""The python-telegram-bot Application: one handler that hands every update to the router."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.settings import Settings
from bot.telegram.inbound import CHANNEL, to_inbound
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.request import AiohttpRequest
from handlers.i18n import N_, Translator
from handlers.router import Result, Router

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = [
    ("repair", N_("Report a repair")),
    ("report", N_("A complaint, suggestion or question")),
    ("mytickets", N_("My repair requests")),
    ("cancel", N_("Stop what you are doing")),
    ("help", N_("Help")),
    ("language", N_("Language: 中文 / English")),
]


SPARE_CONNECTIONS = 4  # beyond the sender's calls: file downloads and start-up calls never wait for them
POOL_WAIT = 30.0  # seconds


def build_application(settings: Settings, router: Router) -> Application:  # type: ignore[type-arg]
    """An Application wired to our router; nothing is started here."""
    assert settings.telegram_bot_token is not None
    # Calls go through aiohttp, not PTB's httpx (see request.py). The sender keeps at most
    # TELEGRAM_CONNECTIONS calls in flight (TelegramDelivery); a call that finds every connection busy
    # waits for one rather than failing after PTB's 1 s default.
    calls = AiohttpRequest(settings.telegram_connections + SPARE_CONNECTIONS, pool_timeout=POOL_WAIT)
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(PerChatUpdateProcessor())
        .request(calls)
        .get_updates_request(AiohttpRequest(1))
        .build()
    )
    max_bytes = settings.baoxiu_max_photo_mb * 1024 * 1024

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await handle_update(update, context.bot, router, max_bytes)

    app.add_handler(TypeHandler(Update, on_update))
    return app


async def handle_update(update: Update, bot: Bot, router: Router, max_photo_bytes: int) -> Result | None:
    """Translate and handle one update (None when the bot ignores its kind); counted for /metrics."""
    from bot.ops import metrics

    inbound = await to_inbound(update, bot, max_photo_bytes)
    if inbound is None:
        metrics.UPDATES.labels(CHANNEL, "ignored").inc()
        return None
    result = await router.handle(inbound)
    if result.failed:
        outcome = "failed"
    elif result.duplicate:
        outcome = "duplicate"
    elif result.throttled:
        outcome = "throttled"
    else:
        outcome = "handled"
    metrics.UPDATES.labels(CHANNEL, outcome).inc()
    return result


async def publish_commands(bot: Bot) -> None:
    """The command menu in both languages (English for everyone else)."""
    for language, code in (("en", None), ("en", "en"), ("zh_CN", "zh")):
        t = Translator(language)
        commands = [BotCommand(name, t(desc)) for name, desc in RESIDENT_COMMANDS]
        await bot.set_my_commands(commands, language_code=code)
