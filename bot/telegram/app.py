"""The python-telegram-bot Application: one handler that hands every update to the router."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.settings import Settings
from bot.telegram.inbound import to_inbound
from bot.telegram.processor import PerChatUpdateProcessor
from handlers.i18n import N_, Translator
from handlers.router import Router

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = [
    ("repair", N_("Report a repair")),
    ("mytickets", N_("My repair requests")),
    ("cancel", N_("Stop what you are doing")),
    ("help", N_("Help")),
    ("language", N_("Language: 中文 / English")),
]


def build_application(settings: Settings, router: Router) -> Application:  # type: ignore[type-arg]
    """An Application wired to our router; nothing is started here."""
    assert settings.telegram_bot_token is not None
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(PerChatUpdateProcessor())
        .build()
    )
    max_bytes = settings.baoxiu_max_photo_mb * 1024 * 1024

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = await to_inbound(update, context.bot, max_bytes)
        if inbound is not None:
            await router.handle(inbound)

    app.add_handler(TypeHandler(Update, on_update))
    return app


async def publish_commands(bot: Bot) -> None:
    """The command menu in both languages (English for everyone else)."""
    for language, code in (("en", None), ("en", "en"), ("zh_CN", "zh")):
        t = Translator(language)
        commands = [BotCommand(name, t(desc)) for name, desc in RESIDENT_COMMANDS]
        await bot.set_my_commands(commands, language_code=code)
