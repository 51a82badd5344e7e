"""Our real app (router, outbox, sender, WeChat channel) against the fake WeChat API server.

WeChat's callbacks are signed, encrypted and posted to the Starlette web app through httpx's ASGI transport
(one test also serves it with a real uvicorn); replies leave through wechatpy over HTTP to the fake server.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.app import App, build_app
from bot.channels import cancel
from bot.settings import Settings, load_settings
from bot.timer_loop import TimerLoop
from bot.wechat.channel import WeChatChannel
from dispatch import staff
from dispatch.clock import FakeClock
from tests.fakes.wechat_push import OAPusher, WorkPusher
from tests.fakes.wechat_server import FakeWeChatServer, Sent
from tests.support.webclient import web_client

OA_TOKEN = "spamtest"
OA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WORK_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
WORK_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
TEMPLATE_ID = "tpl_repair_progress"


def wechat_settings(server: FakeWeChatServer, *, safe_mode: bool = True, **extra: Any) -> dict[str, Any]:
    """Settings for an Official Account, a WeCom app and a robot, all on the fake server."""
    values: dict[str, Any] = {
        "wechat_app_id": server.app_id,
        "wechat_app_secret": server.app_secret,
        "wechat_token": OA_TOKEN,
        "wechat_aes_key": OA_AES_KEY if safe_mode else "",
        "wechat_api_base_url": server.oa_base_url,
        "wechat_template_id": TEMPLATE_ID,
        "wecom_corp_id": server.corp_id,
        "wecom_agent_id": server.agent_id,
        "wecom_secret": server.corp_secret,
        "wecom_token": WORK_TOKEN,
        "wecom_aes_key": WORK_AES_KEY,
        "wecom_api_base_url": server.work_base_url,
        "wecom_robot_webhook": server.robot_url,
    }
    # Inbound flood control and the daily ticket cap are off: the fake clock stands still (as in tgbot.py).
    values.setdefault("baoxiu_flood_per_minute", 0)
    values.setdefault("baoxiu_max_open_tickets_per_day", 0)
    # WeCom's per-member pacing runs on the wall clock: off here (the fake clock stands still), on in
    # tests/wechat/test_pacing.py, which gives the sender and the fake server one fake wall clock.
    values.setdefault("wecom_member_per_minute", 0)
    values.update(extra)
    return values


def settings_for(server: FakeWeChatServer, db_url: str, media: Path, **extra: Any) -> Settings:
    """Complete settings for a WeChat-only bot."""
    return load_settings(
        database_url=db_url,
        baoxiu_media_dir=media,
        baoxiu_language="zh_CN",
        **wechat_settings(server, **extra),
    )


async def quiesce(app: App) -> None:
    """Let the sender finish what it is delivering before it is cancelled: a task cancelled inside a SQLite
    transaction leaves a connection whose close may wait out another writer's busy timeout."""
    for _ in range(300):
        if not app.sender._active:
            return
        await asyncio.sleep(0.01)


class WxBot:
    """Start and stop the bot; be residents (Official Account) and staff (WeCom) through the callbacks."""

    def __init__(self, server: FakeWeChatServer, settings: Settings, clock: FakeClock) -> None:
        self.server = server
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self.channel: WeChatChannel | None = None
        self.http: httpx.AsyncClient | None = None
        self._sender: asyncio.Task[None] | None = None
        self._own_app = True

    async def start(self, app: App | None = None) -> App:
        """Build the app (or join one that already runs Telegram) and open the callbacks."""
        if app is None:
            app = build_app(self.settings, clock=self.clock)
            await app.start()
            self._sender = asyncio.create_task(app.sender.run_forever(0.02))
        else:
            self._own_app = False
        self.app = app
        self.channel = WeChatChannel.of(app)
        await self.channel.prepare()
        self.http = web_client(app)
        return app

    async def stop(self) -> None:
        """Stop delivering and close the database."""
        if self.channel is not None:
            await self.channel.close()
        if self.http is not None:
            await self.http.aclose()
        if self._sender is not None and self.app is not None:
            await quiesce(self.app)
            await cancel(self._sender)
        if self.app is not None and self._own_app:
            await self.app.close()
        self.app = self.channel = self.http = self._sender = None

    @property
    def oa(self) -> OAPusher:
        """WeChat posting residents' messages to the Official Account callback."""
        assert self.http is not None
        s = self.settings
        aes = s.wechat_aes_key.get_secret_value() if s.wechat_aes_key else None
        return OAPusher(
            self.http, self.server, self.clock.now, token=OA_TOKEN, app_id=s.wechat_app_id, aes_key=aes
        )

    @property
    def work(self) -> WorkPusher:
        """WeCom posting staff messages to the app's callback."""
        assert self.http is not None
        return WorkPusher(
            self.http,
            self.server,
            self.clock.now,
            token=WORK_TOKEN,
            aes_key=WORK_AES_KEY,
            corp_id=self.server.corp_id,
            agent_id=self.server.agent_id,
        )

    async def tick(self, minutes: float) -> int:
        """Move the fake clock and run one timer sweep."""
        assert self.app is not None
        self.clock.advance(timedelta(minutes=minutes))
        loop = TimerLoop(self.app.db, self.app.services, self.app.sender)
        fired = await loop.tick()
        self.app.sender.wake()
        return fired

    # ----- residents -------------------------------------------------------------------------------

    async def say(self, user: str, text: str, expect: str = "", timeout: float = 15.0) -> Sent:  # noqa: ASYNC109
        """The resident types; wait for the next message to them (containing `expect`)."""
        after = len(self.server.sent_to(user))
        response = await self.oa.text(user, text)
        assert response.status_code == 200 and response.text == "success", response.text
        return await self.server.wait_for_message(user, expect, after=after, timeout=timeout)

    def newest_menu(self, user: str, label: str) -> Sent:
        """The newest message to a resident with a choice containing `label`."""
        for message in reversed(self.server.sent_to(user)):
            if any(label in text for text in message.labels):
                return message
        raise AssertionError(
            f"no choice {label!r} for {user}: {[m.shown for m in self.server.sent_to(user)][-3:]}"
        )

    async def tap(self, user: str, label: str, expect: str = "", timeout: float = 15.0) -> Sent:  # noqa: ASYNC109
        """The resident taps a line of the newest menu message offering `label`; wait for the next message."""
        message = self.newest_menu(user, label)
        after = len(self.server.sent_to(user))
        response = await self.oa.tap(user, message, label)
        assert response.status_code == 200, response.text
        return await self.server.wait_for_message(user, expect, after=after, timeout=timeout)

    def numbered(self, user: str, label: str) -> str | None:
        """The number to type for `label` in the newest numbered-lines message offering it."""
        for message in reversed(self.server.sent_to(user)):
            for line in message.shown.splitlines():
                number, dot, text = line.partition(". ")
                if dot and number.isdigit() and label in text:
                    return number
            if message.items:
                return None
        return None

    def offers(self, user: str, label: str) -> bool:
        """True when the newest message with choices offers `label` (as a menu line or a numbered line)."""
        for message in reversed(self.server.sent_to(user)):
            if any(label in text for text in message.labels) or self.numbered(user, label) is not None:
                return True
        return False

    async def choose(self, user: str, label: str, expect: str = "") -> Sent:
        """Pick `label` as a resident would: tap it in a menu message, else type its number."""
        await self.server.wait_for(lambda: self.offers(user, label), message=f"{label!r} offered to {user}")
        for message in reversed(self.server.sent_to(user)):
            if any(label in text for text in message.labels):
                return await self.tap(user, label, expect)
            number = self.numbered(user, label)
            if number is not None:
                return await self.say(user, number, expect)
        raise AssertionError(f"{user} was never offered {label!r}: {self.server.texts(user)[-3:]}")

    async def event(self, user: str, event: str, key: str = "", expect: str = "") -> Sent:
        """A menu click or subscription; wait for the answer."""
        after = len(self.server.sent_to(user))
        response = await self.oa.event(user, event, key)
        assert response.status_code == 200, response.text
        return await self.server.wait_for_message(user, expect, after=after)

    # ----- staff -----------------------------------------------------------------------------------

    async def add_staff(
        self,
        name: str,
        role: str = "technician",
        *,
        wecom: str | None = None,
        telegram: str | None = None,
        skills: tuple[str, ...] = ("plumbing_electric",),
        language: str = "en",
    ) -> int:
        """A member of staff bound to a WeCom userid and/or a Telegram id."""
        assert self.app is not None
        async with self.app.db.transaction() as session:
            person = await staff.add(
                session,
                role=staff.parse_role(role),
                name=name,
                now=self.clock.now(),
                skills=skills if role == "technician" else (),
                capacity=20,
                telegram_id=telegram,
            )
            person.language = language
            if wecom:
                await staff.bind_identity(session, person, "wecom", wecom, wecom, now=self.clock.now())
            return person.id

    async def click(self, user: str, card: Sent, label: str) -> httpx.Response:
        """A member taps a card's button in the WeCom app."""
        response = await self.work.click(user, card, label)
        assert response.status_code == 200, response.text
        return response

    async def work_say(self, user: str, text: str, expect: str = "") -> Sent:
        """A member types in the WeCom app; wait for the answer."""
        after = len(self.server.sent_to(user))
        response = await self.work.text(user, text)
        assert response.status_code == 200, response.text
        return await self.server.wait_for_message(user, expect, after=after)
