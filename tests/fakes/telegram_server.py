"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

Real python-telegram-bot talks to it over HTTP::

    async with FakeTelegramServer() as server:
        app = ApplicationBuilder().token("1:T").base_url(server.base_url).base_file_url(server.file_base_url)
        server.push_message(42, "/start")
        reply = await server.wait_for_message(42)

Answers are shaped like Telegram's, including its error texts, so bot code's error handling is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.telegram_methods import FakeBotApi, chat_type_of
from tests.fakes.telegram_objects import (
    JSON,
    ApiError,
    SentMessage,
    SlidingWindow,
    TokenBucket,
    Upload,
    bad_request,
    command_entities,
    decode_json_param,
    retry_after_seconds,
)

__all__ = ["ApiError", "FakeTelegramServer", "SentMessage"]

_log = logging.getLogger(__name__)
# PTB form-encodes nested objects as JSON strings; these fields are decoded back.
_JSON_PARAMS = frozenset(
    {"reply_markup", "media", "commands", "scope", "entities", "caption_entities", "allowed_updates"}
    | {"reply_parameters", "link_preview_options"}
)
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup"})
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    502: "Bad Gateway",
}


class _QuietServer(uvicorn.Server):
    """uvicorn server that leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers (pytest owns them)."""
        yield


class FakeTelegramServer(FakeBotApi):
    """In-process Telegram Bot API over HTTP that real python-telegram-bot can poll and call."""

    # Telegram's documented flood limits; class attributes so a benchmark can tune them. The published ones
    # are ceilings over a sliding window: 30 messages in any second in all, 20 in any minute per group. A
    # private chat has no published figure ("about one a second, short bursts are fine"): a token bucket.
    GLOBAL_PER_SECOND = 30.0
    PRIVATE_PER_SECOND = 1.0
    PRIVATE_BURST = 3.0
    GROUP_PER_MINUTE = 20.0

    def __init__(
        self,
        *,
        token: str | None = None,
        rate_limit: bool = False,
        latency: float = 0.0,
        strict_chats: bool = False,
        port: int = 0,
        bot_id: int = 7000000001,
        bot_username: str = "baoxiu_test_bot",
        bot_name: str = "Baoxiu",
    ) -> None:
        """Configure; `token` (if set) is the only one accepted, `latency` delays every call before it acts.

        `answer_delay` (settable at any time) delays the answer after the call acted, as a slow Telegram
        whose answer comes after the client's timeout: the message is delivered though the client saw a
        timeout."""
        super().__init__(
            strict_chats=strict_chats, bot_id=bot_id, bot_username=bot_username, bot_name=bot_name
        )
        self.token, self.rate_limit, self.latency, self.port = token, rate_limit, latency, port
        self.requests: list[tuple[str, JSON]] = []  # every call: (method name, decoded params)
        self.rate_limit_violations = 0
        self.answer_delay = 0.0
        # Every send that passed flood control: (arrival time, chat id), in order of arrival.
        self.send_times: list[tuple[float, int]] = []
        # Calls other than getUpdates being served at once, now and at most so far (how many a bot sends in
        # parallel, as Telegram's side of the connection sees it).
        self.in_flight = 0
        self.peak_in_flight = 0
        self.errors: list[BaseException] = []  # bugs inside the fake itself, surfaced by wait_for
        self._failures: dict[str, deque[ApiError]] = {}
        self._buckets: dict[int, TokenBucket] = {}
        self._groups: dict[int, SlidingWindow] = {}
        self._global_window = SlidingWindow(self.GLOBAL_PER_SECOND, 1.0)
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
            ]
        )

    # ----- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """PTB's base_url (PTB appends the token, then "/method")."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB's base_file_url (PTB appends the token, then "/file_path")."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        """Serve on 127.0.0.1 (a free port unless one was given) as a task of the running loop."""
        # Binding ourselves tells us the port before uvicorn starts, without parsing its logs.
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without it every
        # request waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._closing = False
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-telegram-server")
        while not self._server.started:
            if self._task.done():
                await self._task  # re-raises the startup error
                raise RuntimeError("fake Telegram server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Answer pending long polls with [] and shut the HTTP server down."""
        if self._server is None or self._task is None:
            return
        self._closing = True
        self._wake_pollers()
        self._server.should_exit = True
        await self._task
        self._server = self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----- HTTP layer ------------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        """Dispatch one Bot API call, after auth, latency, injected faults and flood control."""
        if self.token is not None and request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        name = request.path_params["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        counted = canonical != "getUpdates"
        if counted:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._serve(request, canonical, handler)
        finally:
            if counted:
                self.in_flight -= 1

    async def _serve(self, request: Request, canonical: str, handler: Any) -> Response:
        arrived = time.monotonic()  # Telegram counts a call when it arrives, however long it then takes
        try:
            params = await self._read_params(request)
            self.requests.append((canonical, params))
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._check_flood(canonical, params, arrived)
            if self.latency:
                await asyncio.sleep(self.latency)
            failures = self._failures.get(canonical.lower())
            if failures:
                raise failures.popleft()
            result = await handler(params)
            if self.answer_delay:
                await asyncio.sleep(self.answer_delay)
        except ApiError as error:
            return error.response()
        except ClientDisconnect:  # the bot went away mid-request (a crash test kills it): nobody to answer
            return Response(status_code=499)
        except Exception as exc:  # a bug in the fake: answer like Telegram's 500 and keep it for wait_for
            _log.exception("fake Telegram server failed on %s", canonical)
            self.errors.append(exc)
            return ApiError(500, f"Internal Server Error: fake server bug: {exc!r}").response()
        return JSONResponse({"ok": True, "result": result})

    async def _read_params(self, request: Request) -> JSON:
        """Merge query string with a JSON, urlencoded or multipart body; decode JSON-valued fields."""
        params: JSON = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.body()
            try:
                loaded = json.loads(body) if body else {}
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(loaded, dict):
                params.update(loaded)
        elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            async with request.form() as form:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        params[key] = Upload(value.filename, value.content_type, await value.read())
                    else:
                        params[key] = value
        for key in _JSON_PARAMS & params.keys():
            params[key] = decode_json_param(key, params[key])
        return params

    async def _download(self, request: Request) -> Response:
        """Serve a file's bytes at base_file_url + token + "/" + file_path."""
        if self.token is not None and request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        path = request.path_params["file_path"]
        self.requests.append(("downloadFile", {"file_path": path}))
        if self.latency:
            await asyncio.sleep(self.latency)
        stored = self._files_by_path.get(path)
        if stored is None:
            return ApiError(404, "Not Found").response()
        return Response(stored.data, media_type="application/octet-stream")

    def _check_flood(self, method: str, p: JSON, now: float) -> None:
        """Sliding windows: 30 sends in any second overall, 20 in any minute per group; a token bucket of ~1/s
        (a small burst) per private chat. A refused send counts nowhere."""
        if not self.rate_limit or method not in _SEND_METHODS:
            return
        try:
            chat_id = int(p["chat_id"])
        except (KeyError, TypeError, ValueError):
            return  # the handler answers the bad chat_id
        if chat_id > 0:
            bucket = self._buckets.get(chat_id)
            if bucket is None:
                bucket = self._buckets[chat_id] = TokenBucket(
                    self.PRIVATE_BURST, self.PRIVATE_PER_SECOND, now
                )
            chat_wait = bucket.wait_time(now)
        else:
            group = self._groups.get(chat_id)
            if group is None:
                group = self._groups[chat_id] = SlidingWindow(self.GROUP_PER_MINUTE, 60.0)
            chat_wait = group.wait_time(now)
        wait = max(self._global_window.wait_time(now), chat_wait)
        if wait > 0:
            self.rate_limit_violations += 1
            seconds = retry_after_seconds(wait)
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        self._global_window.take(now)
        if chat_id > 0:
            self._buckets[chat_id].take()
        else:
            self._groups[chat_id].take(now)
        self.send_times.append((now, chat_id))

    # ----- test-side API: files and pushed updates -------------------------------------------------

    def add_file(self, data: bytes, kind: str = "photo") -> str:
        """Store bytes as a file the bot may send by file_id; returns the file_id."""
        return self._store(data, kind, ".jpg" if kind == "photo" else ".bin").file_id

    def _push_from_user(
        self,
        user_id: int,
        content: JSON,
        chat_id: int | None = None,
        chat_type: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """Queue a `message` update sent by a user (in their private chat unless chat_id is given)."""
        user = self._user(user_id, first_name, language_code)
        target = user_id if chat_id is None else chat_id
        chat = self._chat(target, chat_type or chat_type_of(target), user if target == user_id else None)
        message_id = next(self._ids)
        message: JSON = {
            "message_id": message_id,
            "from": dict(user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        message.update(content)
        self._user_messages[message_id] = message
        return self.push_update({"message": message})

    def push_update(self, update: JSON) -> int:
        """Queue a raw Update (update_id assigned if missing); returns its update_id."""
        if "update_id" in update:
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        else:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        self._updates.append(update)
        self._wake_pollers()
        return int(update["update_id"])

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """Queue a text message; a leading /command gets its bot_command entity. Names persist per user."""
        content: JSON = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return self._push_from_user(user_id, content, chat_id, chat_type, first_name, language_code)

    def push_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        file_size: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Queue a photo; `file_size` overrides the reported size (e.g. to exceed getFile's 20 MB)."""
        content: JSON = {"photo": self._store(data, "photo", ".jpg", file_size).sizes}
        if caption is not None:
            content["caption"] = caption
        return self._push_from_user(user_id, content, chat_id)

    def push_document(
        self, user_id: int, data: bytes, file_name: str, mime_type: str, *, chat_id: int | None = None
    ) -> int:
        """Queue a document."""
        stored = self._store(
            data, "document", PurePosixPath(file_name).suffix, file_name=file_name, mime_type=mime_type
        )
        return self._push_from_user(user_id, {"document": stored.document()}, chat_id)

    def push_sticker(self, user_id: int, *, emoji: str = "👍", chat_id: int | None = None) -> int:
        """Queue a (static) sticker."""
        stored = self._store(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "sticker", ".webp")
        sticker = {**stored.ids(), "type": "regular", "width": 512, "height": 512, "emoji": emoji}
        return self._push_from_user(
            user_id, {"sticker": {**sticker, "is_animated": False, "is_video": False}}, chat_id
        )

    def push_voice(
        self, user_id: int, data: bytes = b"OggS fake voice", duration: int = 3, *, chat_id: int | None = None
    ) -> int:
        """Queue a voice note."""
        voice = {**self._store(data, "voice", ".oga").ids(), "duration": duration, "mime_type": "audio/ogg"}
        return self._push_from_user(user_id, {"voice": voice}, chat_id)

    def push_contact(self, user_id: int, phone_number: str, *, contact_user_id: int | None = None) -> int:
        """Queue a contact; its user_id defaults to the sender's, as a request_contact button sends."""
        user = self._user(user_id)
        contact = {
            "phone_number": phone_number,
            "first_name": user["first_name"],
            "user_id": contact_user_id or user_id,
        }
        return self._push_from_user(user_id, {"contact": contact})

    def push_location(self, user_id: int, lat: float, lon: float, *, chat_id: int | None = None) -> int:
        """Queue a location."""
        return self._push_from_user(user_id, {"location": {"latitude": lat, "longitude": lon}}, chat_id)

    def push_edited_message(self, user_id: int, message_id: int, text: str) -> int:
        """Queue an edited_message for a message the user sent earlier."""
        original = self._user_messages.get(message_id)
        if original is None or original["from"]["id"] != user_id:
            raise KeyError(f"user {user_id} sent no message {message_id}")
        edited = {**original, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        if entities := command_entities(text):
            edited["entities"] = entities
        self._user_messages[message_id] = edited
        return self.push_update({"edited_message": edited})

    def last_user_message_id(self, user_id: int) -> int:
        """The id of the newest message this user sent (for edits and replies)."""
        ids = [mid for mid, m in self._user_messages.items() if m["from"]["id"] == user_id]
        if not ids:
            raise KeyError(f"user {user_id} sent no message")
        return max(ids)

    def push_callback(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> int:
        """Queue a callback_query for an inline button under the bot's message `message_id`."""
        sent = self.messages.get(message_id)
        if sent is None or (chat_id is not None and chat_id != sent.chat_id):
            raise KeyError(
                f"the bot sent no message {message_id}" + (f" to chat {chat_id}" if chat_id else "")
            )
        query_id = str(4_000_000_000_000_000 + next(self._counter))
        self._pending_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": dict(self._user(user_id)),
            "message": copy.deepcopy(sent.raw),  # the message as it is now, not as later edits make it
            "chat_instance": str(sent.chat_id * 7919 % 10**18),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    # ----- test-side API: faults and inspection ----------------------------------------------------

    def fail_next(
        self,
        method: str,
        n: int = 1,
        error_code: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `n` calls of `method` fail with this Telegram error (429 gets retry_after)."""
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        error = ApiError(
            error_code,
            description or _DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error"),
            retry_after,
        )
        self._failures.setdefault(method.lower(), deque()).extend(itertools.repeat(error, n))

    def block(self, user_id: int) -> None:
        """Simulate the user blocking the bot: sends to their chat answer 403."""
        self.blocked.add(user_id)

    def take_updates(self) -> list[JSON]:
        """Remove and return the queued updates (to POST them to a webhook, as Telegram would)."""
        updates = list(self._updates)
        self._updates.clear()
        return updates

    def take_update(self, update_id: int) -> JSON:
        """Remove and return one queued update, leaving the others queued (for a test that POSTs it)."""
        for update in self._updates:
            if update["update_id"] == update_id:
                self._updates.remove(update)
                return update
        raise KeyError(f"no queued update {update_id}")

    @property
    def pending_updates(self) -> int:
        """Number of updates not yet confirmed by getUpdates' offset."""
        return len(self._updates)

    def calls(self, method: str) -> list[JSON]:
        """Parameters of every recorded call of `method`, in order."""
        return [params for name, params in self.requests if name == method]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to `chat_id`, in order (deleted ones included, flagged)."""
        return list(self._by_chat.get(chat_id, []))

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline, not a cancellation API
        message: str | Callable[[], str] = "",
    ) -> None:
        """Poll `predicate` until true; on timeout raise AssertionError describing the server state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if self.errors:
                raise AssertionError(f"fake Telegram server failed: {self.errors!r}")
            if loop.time() >= deadline:
                what = message() if callable(message) else message
                recent = [name for name, _ in self.requests if name != "getUpdates"][-10:]
                what = what or getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; "
                    f"unconfirmed updates: {len(self._updates)}, last bot calls: {recent}"
                )
            await asyncio.sleep(0.005)

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        count: int = 1,
        timeout: float = 15.0,  # noqa: ASYNC109 - a test helper's deadline, not a cancellation API
    ) -> SentMessage:
        """Wait for `count` messages to `chat_id` containing `contains`; return the count-th of them."""

        def matching() -> list[SentMessage]:
            return [m for m in self._by_chat.get(chat_id, []) if contains is None or contains in m.content]

        def describe() -> str:
            wanted = f"{count} message(s) to chat {chat_id}" + (
                f" containing {contains!r}" if contains else ""
            )
            return f"{wanted}; the chat got {[m.content for m in self.sent_to(chat_id)]}"

        await self.wait_for(lambda: len(matching()) >= count, timeout, describe)
        return matching()[count - 1]
