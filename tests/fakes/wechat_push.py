"""WeChat's side of the callbacks: signed (and encrypted) XML posted to our endpoints, as Tencent sends it.

`OAPusher` plays the Official Account platform posting residents' messages to /wechat/oa; `WorkPusher`
plays WeCom posting staff messages and card taps to /wechat/work. Both post through any httpx client (an
ASGITransport on the Starlette app, or a real socket) and tell the fake API server that the user was
active, as WeChat would (the 48-hour window starts again).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.wechat.xmlmsg import parse_xml, to_xml
from tests.fakes.wechat_server import FakeWeChatServer, Sent

_msg_ids = itertools.count(6_054_768_590_064_713_728)


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature over the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def nonce() -> str:
    """A fresh nonce like WeChat's (digits)."""
    return str(secrets.randbelow(10**10))


class _Pusher:
    path = ""

    def __init__(self, http: httpx.AsyncClient, server: FakeWeChatServer | None, now: Callable[[], datetime]):
        self.http = http
        self.server = server
        self.now = now

    def timestamp(self) -> str:
        """Now, as WeChat writes it."""
        return str(int(self.now().timestamp()))

    def fields(
        self, user: str, msg_type: str, *, msg_id: int | None = None, **extra: str | int
    ) -> dict[str, Any]:
        """A message's XML fields, with a fresh MsgId unless it is an event."""
        fields: dict[str, Any] = {
            "ToUserName": self.to_user,
            "FromUserName": user,
            "CreateTime": int(self.now().timestamp()),
            "MsgType": msg_type,
        }
        fields.update(extra)
        if msg_type != "event":
            fields["MsgId"] = msg_id if msg_id is not None else next(_msg_ids)
        return fields

    to_user = ""


class OAPusher(_Pusher):
    """Posts to the Official Account callback like WeChat's servers: plain or safe (AES) mode."""

    path = "/wechat/oa"
    to_user = "gh_7f083739789a"

    def __init__(
        self,
        http: httpx.AsyncClient,
        server: FakeWeChatServer | None,
        now: Callable[[], datetime],
        *,
        token: str,
        app_id: str,
        aes_key: str | None = None,
    ) -> None:
        super().__init__(http, server, now)
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    async def verify(self, echostr: str = "8245375921346457") -> httpx.Response:
        """The URL check WeChat makes when the callback URL is saved in the admin console."""
        ts, n = self.timestamp(), nonce()
        params = {"signature": sign(self.token, ts, n), "timestamp": ts, "nonce": n, "echostr": echostr}
        return await self.http.get(self.path, params=params)

    async def post(
        self,
        xml: str,
        *,
        timestamp: str | None = None,
        nonce_: str | None = None,
        signature: str | None = None,
        encrypt: bool | None = None,
        crypto: WeChatCrypto | None = None,
    ) -> httpx.Response:
        """Post one XML message, signed (and encrypted when the account is in safe mode)."""
        ts, n = timestamp or self.timestamp(), nonce_ or nonce()
        params = {
            "signature": signature if signature is not None else sign(self.token, ts, n),
            "timestamp": ts,
            "nonce": n,
        }
        body = xml
        crypto = crypto or self.crypto
        if crypto is not None and encrypt is not False:
            sealed = parse_xml(crypto.encrypt_message(xml, n, ts))
            body = to_xml({"ToUserName": self.to_user, "Encrypt": sealed["Encrypt"]})
            params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        return await self.http.post(self.path, params=params, content=body.encode("utf-8"))

    async def send(self, user: str, msg_type: str, *, active: bool = True, **fields: Any) -> httpx.Response:
        """A user's message or event; a message restarts their 48-hour allowance, a menu click, follow or
        scan (not an unsubscribe) gives the one-minute allowance (WeChat notes it before it forwards the
        message to us)."""
        if self.server is not None and active:
            self.server.user_active(user, event=msg_type == "event")
        return await self.post(to_xml(self.fields(user, msg_type, **fields)))

    async def text(self, user: str, content: str, **fields: Any) -> httpx.Response:
        """The user types a message."""
        return await self.send(user, "text", Content=content, **fields)

    async def tap(self, user: str, message: Sent, label: str) -> httpx.Response:
        """The user taps a line of a 菜单消息: a text message carrying the line's id."""
        menu_id = message.item(label)
        content = dict(message.items)[menu_id]
        return await self.send(user, "text", Content=content, bizmsgmenuid=menu_id)

    async def image(self, user: str, data: bytes, *, media: bool = True, url: bool = True) -> httpx.Response:
        """The user sends a photo (downloadable through the media API and/or its PicUrl)."""
        assert self.server is not None
        media_id = self.server.add_media(data) if media else "gone_" + secrets.token_hex(4)
        pic = self.server.add_picture(data) if url else f"http://127.0.0.1:{self.server.port}/pic/missing.jpg"
        return await self.send(user, "image", PicUrl=pic, MediaId=media_id)

    async def location(self, user: str, lat: float, lon: float, label: str = "") -> httpx.Response:
        """The user shares a location."""
        return await self.send(
            user, "location", Location_X=str(lat), Location_Y=str(lon), Scale="15", Label=label
        )

    async def voice(self, user: str, recognition: str = "") -> httpx.Response:
        """A voice message, with WeChat's recognition text when the account has it switched on."""
        return await self.send(
            user, "voice", MediaId="voice_" + secrets.token_hex(4), Format="amr", Recognition=recognition
        )

    async def event(self, user: str, event: str, key: str = "") -> httpx.Response:
        """subscribe, unsubscribe, CLICK (menu) ..."""
        fields: dict[str, Any] = {"Event": event}
        if key or event == "CLICK":
            fields["EventKey"] = key
        return await self.send(user, "event", active=event != "unsubscribe", **fields)


class WorkPusher(_Pusher):
    """Posts to the WeCom app callback like WeCom's servers (always encrypted, msg_signature)."""

    path = "/wechat/work"

    def __init__(
        self,
        http: httpx.AsyncClient,
        server: FakeWeChatServer | None,
        now: Callable[[], datetime],
        *,
        token: str,
        aes_key: str,
        corp_id: str,
        agent_id: int,
    ) -> None:
        super().__init__(http, server, now)
        self.token = token
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.to_user = corp_id
        self.crypto = WorkCrypto(token, aes_key, corp_id)

    async def verify(self, echo: str = "1288432023552776189") -> httpx.Response:
        """WeCom's URL check: an encrypted echostr to be answered decrypted."""
        ts, n = self.timestamp(), nonce()
        sealed = parse_xml(self.crypto.encrypt_message(echo, n, ts))
        params = {
            "msg_signature": sealed["MsgSignature"],
            "timestamp": ts,
            "nonce": n,
            "echostr": sealed["Encrypt"],
        }
        return await self.http.get(self.path, params=params)

    async def post(
        self, xml: str, *, timestamp: str | None = None, nonce_: str | None = None
    ) -> httpx.Response:
        """Post one encrypted message."""
        ts, n = timestamp or self.timestamp(), nonce_ or nonce()
        sealed = parse_xml(self.crypto.encrypt_message(xml, n, ts))
        body = to_xml(
            {"ToUserName": self.corp_id, "AgentID": str(self.agent_id), "Encrypt": sealed["Encrypt"]}
        )
        params = {"msg_signature": sealed["MsgSignature"], "timestamp": ts, "nonce": n}
        return await self.http.post(self.path, params=params, content=body.encode("utf-8"))

    async def send(self, user: str, msg_type: str, **fields: Any) -> httpx.Response:
        """A member's message or event to the app."""
        return await self.post(to_xml(self.fields(user, msg_type, AgentID=self.agent_id, **fields)))

    async def text(self, user: str, content: str) -> httpx.Response:
        """The member types a message."""
        return await self.send(user, "text", Content=content)

    async def image(self, user: str, data: bytes) -> httpx.Response:
        """The member sends a photo."""
        assert self.server is not None
        return await self.send(
            user, "image", PicUrl=self.server.add_picture(data), MediaId=self.server.add_media(data)
        )

    async def click(self, user: str, card: Sent, label: str) -> httpx.Response:
        """The member taps a button of a template card (template_card_event)."""
        assert self.server is not None
        key = card.item(label)
        return await self.send(
            user,
            "event",
            Event="template_card_event",
            EventKey=key,
            TaskId=card.task_id,
            CardType="button_interaction",
            ResponseCode=self.server.card_click(card.task_id),
        )
