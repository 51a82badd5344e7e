"""The Official Account's menu (我要报修 / 我的报修 / 联系物业), whose clicks arrive as commands."""

from __future__ import annotations

from typing import Any

from bot.wechat.client import Api
from handlers.i18n import Translator


def menu(language: str) -> dict[str, Any]:
    """The menu in the office's language (a main button's name is at most 16 bytes: 5 Chinese characters)."""
    t = Translator(language)
    return {
        "button": [
            # TRANSLATORS: a WeChat menu button: at most 4 Chinese characters (我要报修).
            {"type": "click", "name": t("Repair"), "key": "repair"},
            # TRANSLATORS: a WeChat menu button: at most 4 Chinese characters (我的报修).
            {"type": "click", "name": t("My repairs"), "key": "mytickets"},
            # TRANSLATORS: a WeChat menu button: at most 4 Chinese characters (联系物业).
            {"type": "click", "name": t("Contact us"), "key": "office"},
        ]
    }


async def install(api: Api, language: str) -> dict[str, Any]:
    """Replace the account's menu; WeChat shows it to followers within minutes."""
    definition = menu(language)
    await api.call(lambda c: c.menu.create(definition))
    return definition
