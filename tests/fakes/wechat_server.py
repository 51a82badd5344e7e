"""A fake WeChat API server on 127.0.0.1: the Official Account API, a WeCom app's API and a group robot.

The real wechatpy clients talk to it over HTTP (their base URL pointed here)::

    async with FakeWeChatServer(now=clock.now) as server:
        load_settings(wechat_api_base_url=server.oa_base_url, wecom_api_base_url=server.work_base_url, ...)

Paths mirror WeChat's: `/oa/cgi-bin/token`, `/oa/cgi-bin/message/custom/send`, `.../message/template/send`,
`/oa/cgi-bin/media/upload`, `/oa/cgi-bin/media/get`, `/oa/cgi-bin/menu/create`; `/work/cgi-bin/gettoken`,
`/work/cgi-bin/message/send`, `/work/cgi-bin/message/update_template_card`, `/work/cgi-bin/media/...`;
`/work/cgi-bin/webhook/send?key=` (the robot). Answers carry WeChat's error codes: 40001/42001 for a bad or
expired token, 45015 outside the 48-hour window, 45047 over the customer-service quota, 43004 for a user who
no longer follows the account. `now` is the clock that decides windows and token expiry.

WeChat's rules as the real platform enforces them (since 2023):

- **Customer-service quota.** A message from the user allows 5 customer-service messages within 48 hours
  (each new message resets the allowance, it does not add to it); a menu click, a follow or a QR scan allows
  3 within one minute. The short allowance is spent first. Over it: 45047; no live allowance at all: 45015.
- **Bytes.** A text's content is at most 2048 bytes of UTF-8: the Official Account refuses a longer one
  (45002); WeCom keeps the first 2048 bytes and drops the tail without a word (`truncated` counts them).
- **WeCom per member.** An app may send one member 30 messages a minute and 1,000 an hour; the rest are
  answered "ok" and never arrive (`dropped` counts them). These windows run on `wall` (real seconds, or a
  test's fake wall shared with the sender).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import socket
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_log = logging.getLogger(__name__)
JSON = dict[str, Any]
WINDOW = timedelta(hours=48)
EVENT_WINDOW = timedelta(minutes=1)
MESSAGE_QUOTA = 5  # customer-service messages per message from the user (within 48 hours)
EVENT_QUOTA = 3  # per menu click, follow or scan (within a minute)
TEXT_BYTES = 2048
MEMBER_PER_MINUTE = 30
MEMBER_PER_HOUR = 1000
# Temporary media (media/upload) by type: the most bytes WeChat and WeCom accept.
UPLOAD_LIMITS = {"image": 10 * 2**20, "voice": 2 * 2**20, "video": 10 * 2**20, "file": 20 * 2**20}


class WeChatError(Exception):
    """An error answer: {"errcode": code, "errmsg": msg}."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg

    def response(self) -> Response:
        """WeChat answers errors with HTTP 200 and a JSON body."""
        return JSONResponse({"errcode": self.code, "errmsg": self.msg})


ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40007: "invalid media_id",
    40013: "invalid appid",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45002: "content size out of limit",
    48001: "api unauthorized",
    60111: "invalid userid",
    40095: "invalid response_code",
    -1: "system error",
}


def error(code: int) -> WeChatError:
    """The error with WeChat's own message."""
    return WeChatError(code, ERRORS.get(code, "error"))


@dataclass
class Grant:
    """What a user's last action of one kind allows: `quota` messages until `until`, `used` so far."""

    until: datetime
    quota: int
    used: int = 0

    def live(self, now: datetime) -> bool:
        """Still within its time."""
        return now <= self.until

    def left(self, now: datetime) -> int:
        """Messages still allowed now."""
        return self.quota - self.used if self.live(now) else 0


@dataclass
class Sent:
    """One message the bot sent, as the recipient's app would show it."""

    app: str  # "oa", "work" or "robot"
    to: str
    kind: str  # text, image, file (text: its name), msgmenu, template, template_card
    text: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)  # msgmenu (id, content) / card (key, text)
    media: bytes = b""
    body: JSON = field(default_factory=dict)
    task_id: str = ""
    updates: list[JSON] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """What the buttons or menu lines say."""
        return [text for _, text in self.items]

    def item(self, label: str) -> str:
        """The id (msgmenu) or key (card button) of the first item containing `label`."""
        for key, text in self.items:
            if label in text:
                return key
        raise AssertionError(f"no item {label!r} in {self.items!r}")

    @property
    def shown(self) -> str:
        """The text as shown now (a card's latest update included)."""
        if self.updates:
            card = self.updates[-1]
            title = card.get("main_title", {}).get("title", "")
            return "\n".join(part for part in (title, card.get("sub_title_text", "")) if part)
        return self.text


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class FakeWeChatServer:
    """In-process WeChat APIs over HTTP; see the module docstring."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        app_id: str = "wx5e1a0c0ffee0a001",
        app_secret: str = "oa-secret",
        corp_id: str = "ww5e1a0c0ffee0b002",
        corp_secret: str = "work-secret",
        agent_id: int = 1000002,
        robot_key: str = "robot-key-1",
        token_lifetime: int = 7200,
        port: int = 0,
    ) -> None:
        self.now = now
        self.wall = wall
        self.app_id, self.app_secret = app_id, app_secret
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.robot_key = robot_key
        self.token_lifetime = token_lifetime
        self.port = port
        self.tokens: dict[str, tuple[str, datetime]] = {}  # token -> (app, expires_at)
        self.token_fetches: Counter[str] = Counter()
        self.sent: list[Sent] = []
        self.menus: list[JSON] = []
        self.media: dict[str, bytes] = {}
        self.media_names: dict[str, str] = {}  # media id -> the uploaded file's name
        self.uploads: list[tuple[str, bytes]] = []  # (app, bytes) in order
        self.pictures: dict[str, bytes] = {}
        self.interactions: dict[str, datetime] = {}  # openid -> last message or event to the account
        # openid -> (message grant, event grant): see the module docstring.
        self.grants: dict[str, dict[str, Grant]] = {}
        self.refused: Counter[str] = Counter()  # customer-service messages answered 45047, per openid
        self.truncated: Counter[str] = Counter()  # WeCom texts cut at 2048 bytes, per member
        self.dropped: Counter[str] = Counter()  # WeCom messages over a member's limits, per member
        self.member_sends: dict[str, deque[datetime]] = {}  # member -> wall times of delivered messages
        self.unfollowed: set[str] = set()
        self.unknown_users: set[str] = set()
        self.menu_unavailable = False
        self.cards: dict[str, Sent] = {}  # task_id -> card
        self.codes: dict[str, str] = {}  # response_code -> task_id (unused codes)
        self.requests: list[tuple[str, JSON]] = []
        self.errors: list[BaseException] = []
        self._failures: dict[str, deque[int]] = {}
        self._ids = itertools.count(1)
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        routes = [
            Route("/oa/cgi-bin/{path:path}", self._oa, methods=["GET", "POST"]),
            Route("/work/cgi-bin/{path:path}", self._work, methods=["GET", "POST"]),
            Route("/pic/{name}", self._picture, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes)

    # ----- lifecycle -------------------------------------------------------------------------------

    @property
    def oa_base_url(self) -> str:
        """WECHAT_API_BASE_URL for the bot."""
        return f"http://127.0.0.1:{self.port}/oa/cgi-bin/"

    @property
    def work_base_url(self) -> str:
        """WECOM_API_BASE_URL for the bot."""
        return f"http://127.0.0.1:{self.port}/work/cgi-bin/"

    @property
    def robot_url(self) -> str:
        """WECOM_ROBOT_WEBHOOK for the bot."""
        return f"http://127.0.0.1:{self.port}/work/cgi-bin/webhook/send?key={self.robot_key}"

    async def start(self) -> None:
        """Serve on 127.0.0.1 (a free port unless one was given)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-wechat-server")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("fake WeChat server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Shut the HTTP server down."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----- test-side API ---------------------------------------------------------------------------

    def fail(self, method: str, code: int, times: int = 1) -> None:
        """The next `times` calls of `method` (e.g. "message/custom/send") answer with error `code`."""
        self._failures.setdefault(method, deque()).extend([code] * times)

    def expire_tokens(self) -> None:
        """Every token handed out so far is expired (42001) from now on."""
        past = self.now() - timedelta(seconds=1)
        self.tokens = {token: (app, past) for token, (app, _) in self.tokens.items()}

    def revoke_tokens(self) -> None:
        """Every token handed out so far is unknown (40001)."""
        self.tokens.clear()

    def user_active(self, openid: str, at: datetime | None = None, *, event: bool = False) -> None:
        """The user wrote to the account (5 customer-service messages within 48 hours from now), or clicked
        its menu, followed it or scanned its code (`event`: 3 within a minute). Replaces that kind's grant."""
        when = at or self.now()
        self.interactions[openid] = when
        kind, period, quota = (
            ("event", EVENT_WINDOW, EVENT_QUOTA) if event else ("message", WINDOW, MESSAGE_QUOTA)
        )
        self.grants.setdefault(openid, {})[kind] = Grant(when + period, quota)

    def exhaust(self, openid: str) -> None:
        """Every live allowance of the user is used up: the next customer-service message gets 45047."""
        for grant in self.grants.get(openid, {}).values():
            grant.used = grant.quota

    def cs_left(self, openid: str) -> int:
        """Customer-service messages the user may still be sent now."""
        return sum(g.left(self.now()) for g in self.grants.get(openid, {}).values())

    def add_media(self, data: bytes) -> str:
        """Bytes the bot may download as temporary media (a user's photo); returns the media_id."""
        media_id = f"m{next(self._ids)}_{secrets.token_hex(6)}"
        self.media[media_id] = data
        return media_id

    def add_picture(self, data: bytes) -> str:
        """Bytes served at a PicUrl; returns the URL."""
        name = f"p{next(self._ids)}.jpg"
        self.pictures[name] = data
        return f"http://127.0.0.1:{self.port}/pic/{name}"

    def card_click(self, task_id: str) -> str:
        """WeChat's fresh ResponseCode for a member's tap on a card."""
        code = "rc_" + secrets.token_hex(12)
        self.codes[code] = task_id
        return code

    def sent_to(self, user: str, app: str | None = None) -> list[Sent]:
        """What a user (openid or userid) got, oldest first."""
        return [s for s in self.sent if s.to == user and (app is None or s.app == app)]

    def texts(self, user: str) -> list[str]:
        """The texts a user got (cards as shown now)."""
        return [s.shown for s in self.sent_to(user)]

    def calls(self, name: str) -> list[JSON]:
        """The parameters of every call of one API (e.g. "oa:message/custom/send")."""
        return [params for method, params in self.requests if method == name]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline, not a cancellation API
        message: str = "",
    ) -> None:
        """Poll `predicate` until true; on timeout raise AssertionError with the latest messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if self.errors:
                raise AssertionError(f"fake WeChat server failed: {self.errors!r}")
            if loop.time() >= deadline:
                recent = [(s.app, s.to, s.kind, s.shown[:60]) for s in self.sent[-8:]]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {message or predicate}; sent: {recent}"
                )
            await asyncio.sleep(0.005)

    async def wait_for_message(
        self,
        user: str,
        contains: str = "",
        after: int = 0,
        timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline, not a cancellation API
    ) -> Sent:
        """The first message to `user` after the first `after` ones whose text contains `contains`."""

        def found() -> Sent | None:
            return next((s for s in self.sent_to(user)[after:] if contains in s.shown), None)

        await self.wait_for(lambda: found() is not None, timeout, f"a message to {user} with {contains!r}")
        result = found()
        assert result is not None
        return result

    # ----- HTTP layer ------------------------------------------------------------------------------

    async def _params(self, request: Request) -> JSON:
        params: JSON = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form() as form:
                for key, value in form.multi_items():
                    params[key] = (
                        (value.filename, await value.read()) if isinstance(value, UploadFile) else value
                    )
        elif request.method == "POST":
            body = await request.body()
            if body:
                try:
                    loaded = json.loads(body)
                except ValueError:
                    raise WeChatError(47001, "data format error") from None
                if isinstance(loaded, dict):
                    params["body"] = loaded
        return params

    async def _dispatch(
        self, app: str, request: Request, handlers: dict[str, Callable[[JSON], Any]]
    ) -> Response:
        path = request.path_params["path"]
        name = f"{app}:{path}"
        try:
            params = await self._params(request)
            self.requests.append((name, params))
            handler = handlers.get(path)
            if handler is None:
                raise WeChatError(48001, f"api unauthorized: no {path} in the fake")
            if path not in ("token", "gettoken", "webhook/send"):
                self._check_token(app, params.get("access_token", ""))
            failures = self._failures.get(path)
            if failures:
                raise error(failures.popleft())
            result = handler(params)
        except WeChatError as exc:
            return exc.response()
        except Exception as exc:  # a bug in the fake: keep it for wait_for
            _log.exception("fake WeChat server failed on %s", name)
            self.errors.append(exc)
            return JSONResponse({"errcode": -1, "errmsg": f"fake server bug: {exc!r}"})
        if isinstance(result, Response):
            return result
        return JSONResponse({"errcode": 0, "errmsg": "ok", **(result or {})})

    def _check_token(self, app: str, token: str) -> None:
        found = self.tokens.get(token)
        if found is None or found[0] != app:
            raise error(40001)
        if found[1] <= self.now():
            raise error(42001)

    def _issue(self, app: str) -> JSON:
        token = f"{app}-token-{next(self._ids)}-{secrets.token_hex(8)}"
        self.tokens[token] = (app, self.now() + timedelta(seconds=self.token_lifetime))
        self.token_fetches[app] += 1
        return {"access_token": token, "expires_in": self.token_lifetime}

    async def _oa(self, request: Request) -> Response:
        return await self._dispatch(
            "oa",
            request,
            {
                "token": self._oa_token,
                "message/custom/send": self._custom_send,
                "message/template/send": self._template_send,
                "media/upload": lambda p: self._upload("oa", p),
                "media/get": self._media_get,
                "menu/create": self._menu_create,
                "menu/get": lambda p: {"menu": self.menus[-1] if self.menus else {}},
            },
        )

    async def _work(self, request: Request) -> Response:
        return await self._dispatch(
            "work",
            request,
            {
                "gettoken": self._work_token,
                "message/send": self._work_send,
                "message/update_template_card": self._card_update,
                "media/upload": lambda p: self._upload("work", p),
                "media/get": self._media_get,
                "webhook/send": self._robot,
            },
        )

    async def _picture(self, request: Request) -> Response:
        data = self.pictures.get(request.path_params["name"])
        if data is None:
            return Response("not found", status_code=404)
        return Response(data, media_type="image/jpeg")

    # ----- Official Account ------------------------------------------------------------------------

    def _oa_token(self, p: JSON) -> JSON:
        if p.get("grant_type") != "client_credential" or p.get("appid") != self.app_id:
            raise error(40013)
        if p.get("secret") != self.app_secret:
            raise error(40125)
        return self._issue("oa")

    def _custom_send(self, p: JSON) -> JSON:
        body = p.get("body") or {}
        to = str(body.get("touser", ""))
        if to in self.unknown_users:
            raise error(40003)
        grant = self._cs_grant(to)
        kind = body.get("msgtype", "")
        if kind == "text":
            content = str(body["text"]["content"])
            if len(content.encode("utf-8")) > TEXT_BYTES:
                raise error(45002)
            sent = Sent("oa", to, "text", text=content, body=body)
        elif kind == "image":
            media_id = body["image"]["media_id"]
            if media_id not in self.media:
                raise error(40007)
            sent = Sent("oa", to, "image", media=self.media[media_id], body=body)
        elif kind == "msgmenu":
            if self.menu_unavailable:
                raise error(48001)
            menu = body["msgmenu"]
            items = [(str(i["id"]), str(i["content"])) for i in menu["list"]]
            text = "\n".join(
                part for part in (menu.get("head_content", ""), menu.get("tail_content", "")) if part
            )
            sent = Sent("oa", to, "msgmenu", text=text, items=items, body=body)
        else:
            raise WeChatError(40008, "invalid message type")
        grant.used += 1
        self.sent.append(sent)
        return {}

    def _cs_grant(self, to: str) -> Grant:
        """The allowance a customer-service message to `to` is spent from (the short one first)."""
        now = self.now()
        grants = self.grants.get(to, {})
        live = [g for g in (grants.get("event"), grants.get("message")) if g is not None and g.live(now)]
        if to in self.unfollowed or not live:
            raise error(45015)
        for grant in live:
            if grant.used < grant.quota:
                return grant
        self.refused[to] += 1
        raise error(45047)

    def _template_send(self, p: JSON) -> JSON:
        body = p.get("body") or {}
        to = str(body.get("touser", ""))
        if to in self.unfollowed:
            raise error(43004)
        if to in self.unknown_users:
            raise error(40003)
        if not body.get("template_id"):
            raise error(40037)
        data = body.get("data") or {}
        text = "\n".join(f"{key}: {value.get('value', '')}" for key, value in data.items())
        msgid = next(self._ids)
        self.sent.append(Sent("oa", to, "template", text=text, body=body))
        return {"msgid": msgid}

    def _upload(self, app: str, p: JSON) -> JSON:
        media = p.get("media")
        if not isinstance(media, tuple) or not media[1]:
            raise WeChatError(41005, "media data missing")
        kind = str(p.get("type", ""))
        if kind not in UPLOAD_LIMITS:
            raise WeChatError(40004, "invalid media type")
        # WeChat's documented limits for temporary media: bigger than 5 bytes, at most so many bytes.
        if not 5 < len(media[1]) <= UPLOAD_LIMITS[kind]:
            raise WeChatError(40006 if len(media[1]) > 5 else 40005, "invalid media size")
        if kind == "file" and not media[0]:
            raise WeChatError(40005, "invalid file type: a file needs its name")
        media_id = f"up{next(self._ids)}_{secrets.token_hex(6)}"
        self.media[media_id] = media[1]
        self.media_names[media_id] = str(media[0] or "")
        self.uploads.append((app, media[1]))
        return {
            "type": p.get("type", "image"),
            "media_id": media_id,
            "created_at": int(self.now().timestamp()),
        }

    def _media_get(self, p: JSON) -> Response:
        data = self.media.get(str(p.get("media_id", "")))
        if data is None:
            raise error(40007)
        return Response(
            data, media_type="image/jpeg", headers={"Content-disposition": 'attachment; filename="a.jpg"'}
        )

    def _menu_create(self, p: JSON) -> JSON:
        body = p.get("body") or {}
        for button in body.get("button", []):
            if len(button.get("name", "").encode("utf-8")) > 16:
                raise WeChatError(40018, "invalid button name size")
        self.menus.append(body)
        return {}

    # ----- WeCom -----------------------------------------------------------------------------------

    def _work_token(self, p: JSON) -> JSON:
        if p.get("corpid") != self.corp_id:
            raise WeChatError(40013, "invalid corpid")
        if p.get("corpsecret") != self.corp_secret:
            raise WeChatError(40001, "invalid secret")
        return self._issue("work")

    def _work_send(self, p: JSON) -> JSON:
        body = p.get("body") or {}
        to = str(body.get("touser", ""))
        if int(body.get("agentid", 0)) != self.agent_id:
            raise WeChatError(40056, "invalid agentid")
        if to in self.unknown_users:
            raise error(60111)
        kind = body.get("msgtype", "")
        msgid = f"w{next(self._ids)}"
        if not self._member_allows(to):
            self.dropped[to] += 1  # WeCom answers "ok" and the member never sees it
            return {"msgid": msgid}
        if kind == "text":
            content = str(body["text"]["content"])
            kept = content.encode("utf-8")[:TEXT_BYTES].decode("utf-8", errors="ignore")
            if kept != content:
                self.truncated[to] += 1
            self.sent.append(Sent("work", to, "text", text=kept, body=body))
            return {"msgid": msgid}
        if kind in ("image", "file"):
            media_id = body[kind]["media_id"]
            if media_id not in self.media:
                raise error(40007)
            name = self.media_names.get(media_id, "")
            self.sent.append(Sent("work", to, kind, text=name, media=self.media[media_id], body=body))
            return {"msgid": msgid}
        if kind == "template_card":
            card = body["template_card"]
            task_id = str(card.get("task_id", ""))
            if not task_id or task_id in self.cards:
                raise WeChatError(40058, "task_id missing or already used")
            if card.get("card_type") != "button_interaction" or not card.get("button_list"):
                raise WeChatError(40058, "button_interaction needs button_list")
            title = card.get("main_title", {}).get("title", "")
            text = "\n".join(part for part in (title, card.get("sub_title_text", "")) if part)
            items = [(str(b["key"]), str(b["text"])) for b in card["button_list"]]
            sent = Sent("work", to, "template_card", text=text, items=items, body=body, task_id=task_id)
            self.sent.append(sent)
            self.cards[task_id] = sent
            code = "rc_" + secrets.token_hex(12)
            self.codes[code] = task_id
            return {"msgid": msgid, "response_code": code}
        raise WeChatError(40008, "invalid message type")

    def _member_allows(self, member: str) -> bool:
        """Count one message to a member; False when it is over 30 a minute or 1,000 an hour."""
        now = self.wall()
        times = self.member_sends.setdefault(member, deque())
        while times and now - times[0] >= timedelta(hours=1):
            times.popleft()
        last_minute = sum(1 for t in times if now - t < timedelta(minutes=1))
        if last_minute >= MEMBER_PER_MINUTE or len(times) >= MEMBER_PER_HOUR:
            return False
        times.append(now)
        return True

    def member_peak(self, member: str, span: timedelta) -> int:
        """The most messages delivered to a member within any `span` (for pacing tests)."""
        times = sorted(self.member_sends.get(member, ()))
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= span:
                start += 1
            best = max(best, end - start + 1)
        return best

    def _card_update(self, p: JSON) -> JSON:
        body = p.get("body") or {}
        task_id = self.codes.pop(str(body.get("response_code", "")), None)
        if task_id is None:
            raise error(40095)
        card = body.get("template_card") or {}
        if card.get("task_id") not in (None, task_id):
            raise WeChatError(40058, "task_id does not match the response_code")
        sent = self.cards[task_id]
        if list(body.get("userids") or []) != [sent.to]:
            raise WeChatError(40058, "userids do not match the card")
        sent.updates.append(card)
        sent.items = [(str(b["key"]), str(b["text"])) for b in card.get("button_list", [])]
        return {"invaliduser": []}

    def _robot(self, p: JSON) -> JSON:
        if p.get("key") != self.robot_key:
            raise WeChatError(93000, "invalid webhook url")
        body = p.get("body") or {}
        if body.get("msgtype") != "text":
            raise WeChatError(40008, "invalid message type")
        self.sent.append(Sent("robot", "robot", "text", text=body["text"]["content"], body=body))
        return {}
