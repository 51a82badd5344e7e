"""The bot as a real subprocess (`python -m bot run`), configured by environment variables, for crash and
multi-worker tests; plus chat helpers that talk to it through the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import select

from dispatch.clock import SystemClock
from dispatch.site import load_site
from storage.db import Database
from storage.models import OutboxMessage, Timer
from tests.fakes.telegram_objects import SentMessage
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support import joining

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghijkl"
SECRET = "webhook-secret-0123456789abcdef"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fast_site(path: Path, *, grab: str = "3s", manager: str = "3s", contact: str = "4s") -> Path:
    """The demo site with every time limit in seconds, so timers fire during a test."""
    source = (ROOT / "dispatch" / "site" / "demo_site.toml").read_text(encoding="utf-8")
    limits = {"grab": grab, "manager": manager, "contact": contact, "arrival": "6s", "stall": "8s"}
    for key, value in limits.items():
        source = re.sub(rf'(?m)^{key} = "[^"]*"', f'{key} = "{value}"', source)
    path.write_text(source, encoding="utf-8")
    load_site(path)  # fails loudly if the edit broke it
    return path


def bot_env(server: FakeTelegramServer, db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for `python -m bot run` against the fake server."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BAOXIU_", "WECHAT_", "WECOM_", "DATABASE_URL"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=server.base_url,
        TELEGRAM_FILE_BASE_URL=server.file_base_url,
        DATABASE_URL=db_url,
        BAOXIU_MEDIA_DIR=str(tmp / "media"),
        BAOXIU_LANGUAGE="en",
        BAOXIU_OUTBOX_INTERVAL="0.05",
        BAOXIU_TIMER_INTERVAL="0.2",
        BAOXIU_OUTBOX_LEASE="2",
        BAOXIU_WEB_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class BotProcess:
    """One worker: start, SIGKILL, restart; its JSON logs go to a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = {**env, "BAOXIU_WEB_PORT": str(self.port)}
        self.cwd = cwd
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self._log_file: IO[bytes] | None = None

    def start(self) -> None:
        """Launch `python -m bot --log-level INFO run --log-json`."""
        assert self.proc is None or self.proc.poll() is not None
        self._log_file = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--log-level", "INFO", "run", "--log-json"],
            cwd=self.cwd,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1
        self._close_log()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait: the graceful way (docker stop)."""
        code = 0
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                code = -9
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def url(self) -> str:
        """Its web server."""
        return f"http://127.0.0.1:{self.port}"

    async def wait_healthy(self, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
        """Poll /healthz until it answers 200."""
        deadline = asyncio.get_running_loop().time() + timeout
        last: Any = None
        async with httpx.AsyncClient(timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"worker exited with {self.proc.returncode}; log:\n{self.tail()}")
                try:
                    answer = await client.get(self.url + "/healthz")
                    last = answer.text
                    if answer.status_code == 200:
                        return dict(answer.json())
                except httpx.HTTPError as exc:
                    last = exc
                await asyncio.sleep(0.1)
        raise AssertionError(f"worker not healthy after {timeout}s: {last}; log:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The end of its log."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


NUMBER = re.compile(r"\b[A-Z][A-Z0-9]*-\d{8}-\d{4,}\b")
# How many of a chat's messages were lost: in doubt at a kill and never sent (see bot/outbox/inflight.py).
LostCount = Callable[[int], Awaitable[int]]


LOOK_AGAIN = 2.0  # seconds between a waiting person's looks for a lost message, once `silence` has passed


class Lost(AssertionError):
    """The reply a person waits for was lost at a kill: like a real person, they ask again."""


class Chats:
    """People talking to the bot through the fake server, patient enough to outlast crashes.

    With `lost`, someone who has heard nothing for `silence` seconds stops waiting and asks again (`Lost`) as
    soon as a message of their chat turns out lost at a kill (at most once: it is never sent twice)."""

    def __init__(
        self,
        server: FakeTelegramServer,
        timeout: float = 30,
        *,
        lost: LostCount | None = None,
        silence: float = 12.0,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.lost = lost
        self.silence = min(silence, timeout)
        self.losses: dict[int, int] = {}  # lost messages each chat has already reacted to
        self.retries = 0

    async def reply(self, chat: int, after: int, expect: str | None) -> SentMessage:
        """The first message in the chat after the first `after` ones (containing `expect`)."""

        def found() -> SentMessage | None:
            for message in self.server.sent_to(chat)[after:]:
                if expect is None or expect in message.content:
                    return message
            return None

        def what() -> str:
            return f"chat {chat}: no {expect!r}; got {self.recent(chat, after)}"

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        if self.lost is None:
            await self.server.wait_for(lambda: found() is not None, timeout=self.timeout, message=what)
        else:
            # After `silence` the person keeps an eye out: a message may be found lost only later (it is
            # marked in doubt when the next worker takes its chat back, which may be several kills away).
            wait = self.silence
            while True:
                try:
                    await self.server.wait_for(lambda: found() is not None, timeout=wait, message=what)
                    break
                except AssertionError:
                    if loop.time() >= deadline:
                        raise
                await self._lost_since(chat)
                wait = max(0.0, min(LOOK_AGAIN, deadline - loop.time()))
        message = found()
        assert message is not None
        return message

    async def _lost_since(self, chat: int) -> None:
        """Raise `Lost` when a message of the chat was lost since its person last asked again."""
        assert self.lost is not None
        count = await self.lost(chat)
        if count > self.losses.get(chat, 0):
            self.losses[chat] = count
            self.retries += 1
            raise Lost(f"chat {chat}: a reply was lost at a kill")

    def recent(self, chat: int, after: int) -> list[str]:
        """The starts of the chat's messages after the first `after`."""
        return [m.content[:40] for m in self.server.sent_to(chat)[after:]]

    async def say(self, user: int, text: str, expect: str | None = None) -> SentMessage:
        """Type a message and wait for the answer."""
        count = len(self.server.sent_to(user))
        self.server.push_message(user, text, language_code="en")
        return await self.reply(user, count, expect)

    def newest_with(self, chat: int, label: str) -> SentMessage:
        """The newest message in the chat with a button containing `label`."""
        for message in reversed(self.server.sent_to(chat)):
            if any(label in text for text in message.button_texts):
                return message
        raise AssertionError(f"no button {label!r} in chat {chat}")

    async def tap(self, user: int, label: str, expect: str | None = None) -> SentMessage:
        """Tap the newest button with `label` and wait for the answer."""
        await self.server.wait_for(
            lambda: any(label in text for m in self.server.sent_to(user) for text in m.button_texts),
            timeout=self.timeout,
            message=f"chat {user}: no button {label!r}",
        )
        message = self.newest_with(user, label)
        count = len(self.server.sent_to(user))
        self.server.push_callback(user, message.message_id, message.callback_data_for(label))
        return await self.reply(user, count, expect)

    async def file_own_when_asked(self, user: int, after: int) -> None:
        """Past the category: when a neighbour's open report of the same fault is offered, file one's own."""

        def seen() -> str:
            return joining.asked(self.server.sent_to(user)[after:])

        await self.server.wait_for(
            lambda: bool(seen()), timeout=self.timeout, message=f"chat {user}: photos?"
        )
        if seen() == "join":
            await self.tap(user, joining.OWN, expect="photos")

    async def file_request(self, user: int, description: str, room: str = "1203") -> str:
        """The whole intake in English; returns the ticket number. After a lost reply the resident looks in
        /mytickets (the lost one may have been the number) and otherwise starts over, as people do."""
        for _ in range(4):
            try:
                return await self._file(user, description, room)
            except Lost:
                pass
            if number := await self._filed_after_all(user):
                return number
        raise AssertionError(f"chat {user}: replies lost again and again")

    async def _filed_after_all(self, user: int) -> str:
        """After a lost reply: the number /mytickets shows, else "" once the half-done request is dropped."""
        for _ in range(4):
            try:
                mine = await self.say(user, "/mytickets")
                if found := NUMBER.search(mine.content):
                    return found.group(0)
                await self.say(user, "/cancel")
                return ""
            except Lost:
                continue
        raise AssertionError(f"chat {user}: replies lost again and again")

    async def _file(self, user: int, description: str, room: str) -> str:
        await self.say(user, "/repair", expect="Where is the problem?")
        await self.tap(user, "My home", expect="Which building?")
        await self.tap(user, "Building 1", expect="Which unit")
        await self.tap(user, "Unit 1", expect="room")
        await self.say(user, room, expect="phone")
        await self.say(user, "13812345678", expect="describe")
        count = len(self.server.sent_to(user))
        self.server.push_message(user, description, language_code="en")
        asked = await self.reply(user, count, None)
        await self.server.wait_for(lambda: bool(asked.button_texts) or True)
        if "I still need a repair" in asked.button_texts:
            await self.tap(user, "I still need a repair", expect="Is that right?")
        count = len(self.server.sent_to(user))
        await self.tap(user, "Yes, that's right", expect=None)
        await self.file_own_when_asked(user, count)
        await self.tap(user, "Skip", expect="When would a visit suit you?")
        await self.tap(user, "As soon as possible", expect="Please check your repair request")
        # A neighbour may file the same fault while this resident confirms: then they are asked once more
        # whether to join, and this journey files its own.
        for _ in range(5):
            count = len(self.server.sent_to(user))
            await self.tap(user, "Confirm", expect=None)
            number = await self.filed_or_asked(user, count)
            if number:
                return number
            await self.tap(user, "File my own", expect="Please check your repair request")
        raise AssertionError(f"chat {user}: asked to join again and again")

    async def filed_or_asked(self, user: int, after: int) -> str:
        """The new ticket's number, or "" when the resident is asked to join a neighbour's report."""

        def outcome() -> str | None:
            for message in self.server.sent_to(user)[after:]:
                if "Number: " in message.content:
                    return message.content.split("Number: ")[1].split()[0]
                if any("File my own" in text for text in message.button_texts):
                    return ""
            return None

        await self.server.wait_for(
            lambda: outcome() is not None,
            timeout=self.timeout,
            message=lambda: f"chat {user}: no 'Number:'; got {self.recent(user, after)}",
        )
        return outcome() or ""


def chat_of(update: dict[str, Any]) -> int:
    """The chat an update belongs to."""
    if "callback_query" in update:
        return int(update["callback_query"]["message"]["chat"]["id"])
    for key in ("message", "edited_message"):
        if key in update:
            return int(update[key]["chat"]["id"])
    return 0


class WebhookTelegram:
    """Plays Telegram in webhook mode: takes the fake server's queued updates and POSTs them to the workers.

    A chat's updates go one at a time (the next after the previous got its 200), each to a random worker;
    with probability `duplicate` an update is POSTed to two workers at once, as a retry after a lost answer
    would. Failures are retried, as Telegram does.
    """

    def __init__(
        self,
        server: FakeTelegramServer,
        workers: list[BotProcess],
        secret: str,
        path: str,
        rng: Any,
        duplicate: float = 0.2,
    ) -> None:
        self.server = server
        self.workers = workers
        self.secret = secret
        self.path = path
        self.rng = rng
        self.duplicate = duplicate
        self.queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.posts = 0
        self.client = httpx.AsyncClient(timeout=30)
        self.history: list[tuple[float, int, int, str]] = []  # (time, chat, update_id, outcome)
        self.failures: list[BaseException] = []

    async def post(self, update: dict[str, Any], worker: BotProcess) -> int:
        """POST one update until a worker takes it; returns the final status."""
        loop = asyncio.get_running_loop()
        for _ in range(50):
            started = loop.time()
            try:
                answer = await self.client.post(
                    worker.url + self.path,
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
                )
                self.posts += 1
                outcome = f"{answer.status_code} from :{worker.port} in {loop.time() - started:.2f}s"
                self.history.append((started, chat_of(update), int(update["update_id"]), outcome))
                if answer.status_code == 200:
                    return 200
            except httpx.HTTPError as exc:
                outcome = f"{type(exc).__name__} from :{worker.port} after {loop.time() - started:.2f}s"
                self.history.append((started, chat_of(update), int(update["update_id"]), outcome))
            await asyncio.sleep(0.2)
            worker = self.rng.choice(self.workers)
        raise AssertionError(f"update {update.get('update_id')} never accepted")

    async def _chat(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        try:
            while True:
                update = await queue.get()
                first = self.rng.choice(self.workers)
                if self.rng.random() < self.duplicate:
                    second = (
                        next(w for w in self.workers if w is not first) if len(self.workers) > 1 else first
                    )
                    await asyncio.gather(self.post(update, first), self.post(update, second))
                else:
                    await self.post(update, first)
        except Exception as exc:
            self.failures.append(exc)
            raise

    def story(self, chat: int) -> list[str]:
        """What happened to the chat's deliveries (for failure messages)."""
        return [f"{t:.2f} update {u}: {outcome}" for t, c, u, outcome in self.history if c == chat]

    async def run(self) -> None:
        """Forward updates until cancelled."""
        while True:
            for update in self.server.take_updates():
                chat = chat_of(update)
                if chat not in self.queues:
                    self.queues[chat] = asyncio.Queue()
                    self.tasks.append(asyncio.create_task(self._chat(self.queues[chat])))
                self.queues[chat].put_nowait(update)
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop the chat tasks and the HTTP client."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


async def settle(db: Database, timeout: float = 30, quiet: float = 0.0) -> None:  # noqa: ASYNC109
    """Wait until no outbox row is pending and no timer is due, for `quiet` seconds on end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_since: float | None = None
    pending: list[Any] = []
    due: list[Any] = []
    while loop.time() < deadline:
        async with db.transaction() as s:
            pending = list(
                (await s.execute(select(OutboxMessage.id).where(OutboxMessage.status == "pending"))).all()
            )
            due = list(
                (
                    await s.execute(
                        select(Timer.id).where(Timer.status == "pending", Timer.due_at <= SystemClock().now())
                    )
                ).all()
            )
        if not pending and not due:
            quiet_since = quiet_since if quiet_since is not None else loop.time()
            if loop.time() - quiet_since >= quiet:
                return
        else:
            quiet_since = None
        await asyncio.sleep(0.2)
    raise AssertionError(f"not settled: {len(pending)} rows pending, {len(due)} timers due")
