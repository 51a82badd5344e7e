"""Our real bot (PTB Application, router, outbox, sender) against the fake Bot API server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import App, build_app
from bot.channels import TelegramRunner
from bot.settings import Settings, load_settings
from bot.timer_loop import TimerLoop
from dispatch.clock import FakeClock
from tests.fakes.telegram_objects import SentMessage
from tests.fakes.telegram_server import FakeTelegramServer


def settings_for(server: FakeTelegramServer, db_url: str, media: Path, **extra: Any) -> Settings:
    """Settings pointing PTB at the fake server.

    Telegram's flood limits, inbound flood control and the daily ticket cap are off unless a test asks for
    them (the fake clock stands still, and the fake server only counts limits in rate_limit mode); the
    production tests in tests/production turn them on.
    """
    for name in ("telegram_rate_overall", "telegram_rate_chat", "telegram_rate_group_per_minute"):
        extra.setdefault(name, 0)
    extra.setdefault("baoxiu_flood_per_minute", 0)
    extra.setdefault("baoxiu_max_open_tickets_per_day", 0)
    return load_settings(
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_api_base_url=server.base_url,
        telegram_file_base_url=server.file_base_url,
        database_url=db_url,
        baoxiu_media_dir=media,
        baoxiu_language="zh_CN",
        **extra,
    )


class TgBot:
    """Start, stop and restart the bot; talk to it as Telegram users through the fake server."""

    def __init__(self, server: FakeTelegramServer, settings: Settings, clock: FakeClock) -> None:
        self.server = server
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self.runner: TelegramRunner | None = None

    async def start(self) -> App:
        """A fresh process-worth of objects on the same database."""
        self.app = build_app(self.settings, clock=self.clock)
        await self.app.start()
        self.runner = TelegramRunner(self.app, sender_interval=0.02)
        await self.runner.start(poll_interval=0.0, long_poll=1)
        return self.app

    async def stop(self) -> None:
        """Stop polling and sending, and close the database."""
        if self.runner is not None:
            await self.runner.stop()
        if self.app is not None:
            await self.app.close()
        self.runner = self.app = None

    async def restart(self) -> None:
        """Stop and start again, as after a crash or deploy."""
        await self.stop()
        await self.start()

    async def tick(self, minutes: float) -> int:
        """Move the fake clock and run one timer sweep."""
        assert self.app is not None
        self.clock.advance(timedelta(minutes=minutes))
        loop = TimerLoop(self.app.db, self.app.services, self.app.sender)
        return await loop.tick()

    async def say(self, user: int, text: str, expect: str | None = None, **kw: Any) -> SentMessage:
        """Send a message and wait for the next reply in the user's chat (containing `expect`)."""
        count = len(self.server.sent_to(kw.get("chat_id") or user))
        self.server.push_message(user, text, **kw)
        return await self.reply(kw.get("chat_id") or user, count, expect)

    async def tap(
        self, user: int, label: str, expect: str | None = None, *, chat: int | None = None
    ) -> SentMessage:
        """Tap the newest button with `label` in the user's chat; wait for the next message."""
        chat_id = chat or user
        message = self.newest_with_button(chat_id, label)
        count = len(self.server.sent_to(chat_id))
        self.server.push_callback(user, message.message_id, message.callback_data_for(label), chat_id=chat_id)
        return await self.reply(chat_id, count, expect)

    def newest_with_button(self, chat_id: int, label: str) -> SentMessage:
        """The newest message in a chat with a button containing `label`."""
        for message in reversed(self.server.sent_to(chat_id)):
            if any(label in text for text in message.button_texts):
                return message
        raise AssertionError(
            f"no button {label!r} in chat {chat_id}: {[m.content for m in self.server.sent_to(chat_id)][-3:]}"
        )

    async def reply(
        self, chat_id: int, after: int, expect: str | None = None, wait: float = 10
    ) -> SentMessage:
        """Wait for a new message in the chat after the first `after` ones (containing `expect`)."""

        def found() -> SentMessage | None:
            for message in self.server.sent_to(chat_id)[after:]:
                if expect is None or expect in message.content:
                    return message
            return None

        await self.server.wait_for(
            lambda: found() is not None,
            timeout=wait,
            message=f"no reply{' with ' + repr(expect) if expect else ''} in chat {chat_id}",
        )
        result = found()
        assert result is not None
        return result
