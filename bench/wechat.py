"""Figure 7: WeChat's callbacks. How fast the Official Account's callback is answered, and the reply sent.

The bench plays WeChat's servers: it signs and encrypts each resident's message (safe mode) and posts it
over HTTP to the bot's web app (uvicorn, in the bot's own process), then waits for the customer-service
message that answers it on the fake WeChat API server. WeChat waits 5 seconds for the callback's answer and
then sends the message again, so the answer time is what decides whether WeChat retries.

The answer time runs from the moment the request's last byte is written to the moment the answer is read,
as WeChat's 5 seconds do. The bench is one Python process playing 100 of WeChat's servers at once: it cannot
write 100 requests in the same instant, so its own queue (signing, encrypting, httpx) before a request goes
out is not the bot's and is shown apart, as "from the load generator's call".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from typing import Any

import httpx

from bench.bot import BotProcess
from bench.common import Backend, Row, Run, collector, ms, pct
from handlers.i18n import Translator
from tests.fakes.wechat_push import OAPusher
from tests.fakes.wechat_server import FakeWeChatServer, Sent

APP_ID, APP_SECRET = "wx5e1a0c0ffee0a001", "oa-secret"  # FakeWeChatServer's defaults
OA_TOKEN = "benchtoken"
OA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPEN_RATE = 20.0  # callbacks/s offered in the open-loop run
WECHAT_RETRY = 5.0  # seconds after which WeChat sends a callback again
ZH = Translator("zh_CN")


def sizes(run: Run) -> tuple[int, float]:
    """Residents in the closed-loop burst, seconds of open-loop load."""
    return (6, 2.0) if run.quick else (100, 10.0)


class BenchWeChat(FakeWeChatServer):
    """The fake WeChat APIs, stamping when each customer-service message arrives and waking its waiter."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrived: dict[str, list[float]] = defaultdict(list)
        self._by_user: dict[str, list[Sent]] = defaultdict(list)
        self._waiters: dict[str, list[asyncio.Future[None]]] = defaultdict(list)
        self.last_activity = time.perf_counter()

    def _custom_send(self, p: Any) -> Any:
        result = super()._custom_send(p)
        user = self.sent[-1].to
        now = self.last_activity = time.perf_counter()
        self.arrived[user].append(now)
        self._by_user[user].append(self.sent[-1])
        for waiter in self._waiters.pop(user, []):
            if not waiter.done():
                waiter.set_result(None)
        return result

    def api_urls(self) -> tuple[str, str]:
        """The Official Account's API URL for the bot process (no file URL on WeChat)."""
        return self.oa_base_url, "-"

    def mine(self, user: str) -> list[Sent]:
        """Customer-service messages to a user, from a per-user index (sent_to scans every message)."""
        return self._by_user[user]

    async def next_message(self, user: str, after: int, timeout: float = 30.0) -> Sent:  # noqa: ASYNC109
        """Wait until the user has more than `after` messages; the first new one."""
        async with asyncio.timeout(timeout):
            while len(self._by_user[user]) <= after:
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters[user].append(future)
                await future
        return self._by_user[user][after]

    async def quiet(self, seconds: float = 0.5, limit: float = 10.0) -> None:
        """Wait until nothing has been sent for `seconds` (at most `limit` seconds in all)."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            idle = time.perf_counter() - self.last_activity
            if idle >= seconds:
                return
            await asyncio.sleep(seconds - idle)


class Resident:
    """One resident on the Official Account; records each callback's answer and reply times."""

    def __init__(self, pusher: OAPusher, server: BenchWeChat, openid: str, stats: Stats) -> None:
        self.pusher, self.server, self.openid, self.stats = pusher, server, openid, stats

    async def _timed(self, post: Any) -> Sent:
        after = len(self.server.mine(self.openid))
        start = time.perf_counter()
        response = await post
        answered = time.perf_counter()
        if response.status_code != 200 or response.text != "success":
            raise AssertionError(f"callback answered {response.status_code} {response.text[:80]}")
        reply = await self.server.next_message(self.openid, after)
        sent = response.extensions.get("sent_at") or start
        self.stats.answer.append(answered - sent)
        self.stats.called.append(answered - start)
        self.stats.reply.append(self.server.arrived[self.openid][after] - start)
        return reply

    async def click_repair(self) -> Sent:
        """The menu's Repair entry."""
        return await self._timed(self.pusher.event(self.openid, "CLICK", "repair"))

    async def say(self, text: str) -> Sent:
        """Type a message."""
        return await self._timed(self.pusher.text(self.openid, text))

    async def choose(self, label: str) -> Sent:
        """Tap `label` in the newest menu offering it, or type its line's number."""
        while (found := self._offer(label)) is None:
            await self.server.next_message(self.openid, len(self.server.mine(self.openid)))
        message, number = found
        if number is None:
            return await self._timed(self.pusher.tap(self.openid, message, label))
        return await self.say(number)

    def _offer(self, label: str) -> tuple[Sent, str | None] | None:
        for message in reversed(self.server.mine(self.openid)):
            if any(label in text for text in message.labels):
                return message, None
            for line in message.shown.splitlines():
                number, dot, text = line.partition(". ")
                if dot and number.isdigit() and label in text:
                    return message, number
        return None


class Stats:
    """Answer and reply times of the callbacks of one run."""

    def __init__(self) -> None:
        self.answer: list[float] = []  # from the request's last byte written to the answer read
        self.called: list[float] = []  # from the load generator's call (its own queue included)
        self.reply: list[float] = []


class Stamped(httpx.AsyncHTTPTransport):
    """A transport that notes when each request's last byte was written (response.extensions["sent_at"])."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, stamping the moment its body is written."""
        sent: list[float] = []

        async def trace(name: str, info: Any) -> None:
            if name == "http11.send_request_body.complete":
                sent.append(time.perf_counter())

        request.extensions = {**request.extensions, "trace": trace}
        response = await super().handle_async_request(request)
        response.extensions["sent_at"] = sent[0] if sent else None
        return response


async def dialog(resident: Resident, room: str) -> None:
    """The first seven steps of a repair request, as a resident on WeChat takes them."""
    await resident.click_repair()
    await resident.choose(ZH("My home (building, unit, room)"))
    await resident.choose("1号楼")
    await resident.choose("1单元")
    await resident.say(room)
    await resident.say("13812345678")
    await resident.say("卫生间水管漏水，请尽快来修")


async def figure(run: Run, backend: Backend) -> list[Row]:
    """A closed-loop burst of residents in the dialog, then an open loop of first messages at 20/s."""
    residents, seconds = sizes(run)
    rooms = (f"{floor}{flat:02d}" for floor in itertools.count(2) for flat in range(1, 9))
    async with (
        backend.fresh("wechat") as url,
        BenchWeChat() as server,
        BotProcess(run, server, url, mode="wechat", tag=f"wechat-{backend.name}") as bot,
        contextlib.AsyncExitStack() as clients,
    ):
        # WeChat's callbacks come from a fleet of servers: one client (one connection) each here. A single
        # httpx client shared by a burst of 100 queues requests in its own pool before they are sent (up to
        # 0.5 s at the p99: encode/httpx#3215), which is the load generator's delay, not the bot's.
        base = f"http://127.0.0.1:{bot.ready['port']}"
        pushers = [
            OAPusher(
                await clients.enter_async_context(
                    httpx.AsyncClient(base_url=base, timeout=60, transport=Stamped())
                ),
                server,
                _now,
                token=OA_TOKEN,
                app_id=server.app_id,
                aes_key=OA_AES_KEY,
            )
            for _ in range(residents + 1)
        ]
        await dialog(Resident(pushers[-1], server, "o_warmup", Stats()), next(rooms))
        burst = Stats()
        before = await bot.stats()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                dialog(Resident(pushers[i], server, f"o_burst_{i}", burst), next(rooms))
                for i in range(residents)
            )
        )
        elapsed = time.perf_counter() - started
        after = await bot.stats()
        paced = Stats()
        late = await open_loop(pushers, server, paced, seconds)
        stats = await bot.stats()
    callbacks = len(burst.answer)
    cost = {k: (after[k] - before[k]) / callbacks for k in ("cpu", "statements", "commits")}
    retried = sum(t >= WECHAT_RETRY for t in burst.called + paced.called)  # the longer measure
    rows = [
        Row(
            "7 wechat: callbacks/s, closed loop",
            backend.name,
            f"{callbacks / elapsed:.0f}/s",
            notes=[
                f"{residents} residents, 7 callbacks each; per callback: {cost['cpu'] * 1000:.1f} ms of bot "
                f"CPU, {cost['statements']:.1f} SQL statements in {cost['commits']:.1f} transactions"
            ],
        ),
        Row(
            "7 wechat: burst answer / reply p99",
            backend.name,
            f"{ms(pct(burst.answer, 99))} / {ms(pct(burst.reply, 99))}",
            "answer < 100 ms",
            pct(burst.answer, 99) < 0.1,
            notes=[
                f"answer p50 {ms(pct(burst.answer, 50))}, reply p50 {ms(pct(burst.reply, 50))}; the answer "
                "from the request written to the answer read; from the load generator's call (its own queue "
                f"of 100 requests included) p50 {ms(pct(burst.called, 50))}, p99 {ms(pct(burst.called, 99))}"
            ],
        ),
        Row(
            f"7 wechat: answer p99 at {OPEN_RATE:.0f}/s open loop",
            backend.name,
            ms(pct(paced.answer, 99)),
            "< 200 ms",
            pct(paced.answer, 99) < 0.2,
            [f"p50 {ms(pct(paced.answer, 50))}; {len(paced.answer)} callbacks; pacing lag p99 {ms(late)}"],
        ),
        Row(
            f"7 wechat: reply p99 at {OPEN_RATE:.0f}/s open loop",
            backend.name,
            ms(pct(paced.reply, 99)),
            "< 1 s",
            pct(paced.reply, 99) < 1.0,
            [f"p50 {ms(pct(paced.reply, 50))}; from the callback's post to the reply at WeChat's API"],
        ),
        Row(
            "7 wechat: callbacks answered after 5 s",
            backend.name,
            str(retried),
            "0",
            retried == 0,
            ["WeChat would have sent these again"],
        ),
    ]
    rows[1].notes.append(collector(stats))  # its pauses show in this row's tail
    if stats["errors"]:
        rows.append(Row("7 wechat: errors logged by the bot", backend.name, str(stats["errors"]), "0", False))
    return rows


async def open_loop(pushers: list[OAPusher], server: BenchWeChat, stats: Stats, seconds: float) -> float:
    """New residents open the Repair menu at OPEN_RATE a second, whatever the answers; p99 pacing lag (the
    clients taken in turn: each is used again only after len(pushers) / OPEN_RATE seconds)."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[Sent]] = []
    lags: list[float] = []
    for i in range(int(OPEN_RATE * seconds)):
        due = start + i / OPEN_RATE
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        lags.append(time.perf_counter() - due)
        resident = Resident(pushers[i % len(pushers)], server, f"o_open_{i}", stats)
        tasks.append(asyncio.create_task(resident.click_repair()))
    await asyncio.gather(*tasks)
    return pct(lags, 99)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
