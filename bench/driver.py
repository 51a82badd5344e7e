"""Residents as scripts: what each one sends and which reply it waits for, closed-loop or paced."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bench.server import BenchServer
from tests.fakes.telegram_objects import SentMessage

OWN = "File my own"  # the button that declines joining a neighbour's report of the same fault


@dataclass(frozen=True)
class Step:
    """One thing a resident does (say, tap or contact) and a text or button the reply must show."""

    action: str
    arg: str
    expect: str


def intake(room: str = "1203") -> list[Step]:
    """The whole intake dialog of the demo site in English, as the e2e tests drive it (11 updates)."""
    return [
        Step("say", "/repair", "My home"),
        Step("tap", "My home", "Building 1"),
        Step("tap", "Building 1", "Unit 1"),
        Step("tap", "Unit 1", "room number"),
        Step("say", room, "phone number"),
        Step("contact", "+86 138 1234 5678", "describe the problem"),
        Step("say", "Kitchen tap leaking since this morning", "Yes, that's right"),
        Step("tap", "Yes, that's right", "Skip"),
        Step("tap", "Skip", "As soon as possible"),
        Step("tap", "As soon as possible", "Confirm"),
        Step("tap", "Confirm", "Number: "),  # not "BX-": the offer to join a neighbour's report names it
    ]


def echo(n: int = 11) -> list[Step]:
    """n text messages, each echoed back."""
    return [Step("say", f"hello number {i}", f"hello number {i}") for i in range(n)]


def rooms() -> Iterator[str]:
    """Room numbers that exist in building 1 unit 1 of the demo site (18 floors, 4 rooms a floor)."""
    return itertools.cycle(f"{floor}{room:02d}" for floor in range(1, 19) for room in range(1, 5))


def newest_with(server: BenchServer, chat: int, label: str) -> SentMessage:
    """The newest message in a chat with a button whose label contains `label`."""
    for message in reversed(server.sent_to(chat)):
        if any(label in text for text in message.button_texts):
            return message
    raise LookupError(f"no button {label!r} in chat {chat}: {server.tail(chat)}")


def shows(server: BenchServer, chat: int, after: int, expect: str) -> Callable[[], bool]:
    """A predicate: some message after the first `after` ones shows `expect` (in text or buttons)."""

    def check() -> bool:
        return any(
            expect in m.content or any(expect in b for b in m.button_texts)
            for m in server.sent_to(chat)[after:]
        )

    return check


def act(server: BenchServer, user: int, step: Step) -> None:
    """Push one step's update to the fake server."""
    if step.action == "say":
        server.push_message(user, step.arg, language_code="en", first_name=f"R{user}")
    elif step.action == "tap":
        message = newest_with(server, user, step.arg)
        server.push_callback(user, message.message_id, message.callback_data_for(step.arg))
    elif step.action == "contact":
        server.push_contact(user, step.arg, contact_user_id=user)
    else:
        raise ValueError(step.action)


async def play(
    server: BenchServer,
    user: int,
    steps: Sequence[Step],
    permit: Callable[[], Awaitable[None]] | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - a deadline per reply
) -> int:
    """Run one resident's script, each step after the previous reply; returns the updates sent.

    Residents file the same fault in the same building, so since incidents a resident may be offered a
    neighbour's report to join: they file their own (one more update) and, when that brings the summary
    back, confirm again.
    """
    sent = 0
    for step in steps:
        if permit is not None:
            await permit()
        for _ in range(3):
            before = len(server.sent_to(user))
            act(server, user, step)
            sent += 1
            expected, join = shows(server, user, before, step.expect), shows(server, user, before, OWN)
            await server.until(user, lambda e=expected, j=join: e() or j(), timeout)
            if expected():
                break
            before = len(server.sent_to(user))
            act(server, user, Step("tap", OWN, ""))
            sent += 1
            expected, again = shows(server, user, before, step.expect), shows(server, user, before, step.arg)
            await server.until(user, lambda e=expected, a=again: e() or a(), timeout)
            if expected():
                break
    return sent


async def closed_loop(
    server: BenchServer, users: Sequence[int], script: Callable[[int], Sequence[Step]]
) -> tuple[int, float]:
    """All users at once, each as fast as replies come; returns (updates, seconds)."""
    started = time.perf_counter()
    counts = await asyncio.gather(*(play(server, u, script(u)) for u in users))
    return sum(counts), time.perf_counter() - started


class Stop(Exception):
    """The pacer has released its last permit."""


class Pacer:
    """Open-loop arrivals: permits released at a fixed rate, whoever is ready takes the next one."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.queue: asyncio.Queue[float | None] = asyncio.Queue()
        self.released = 0
        self.late: list[float] = []  # how long each permit waited for a ready resident

    async def run(self, seconds: float, workers: int) -> None:
        """Release permits for `seconds`, then one stop sign per worker."""
        start = time.perf_counter()
        for i in range(int(seconds * self.rate)):
            delay = start + i / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.queue.put_nowait(time.perf_counter())
            self.released += 1
        for _ in range(workers):
            self.queue.put_nowait(None)

    async def take(self) -> None:
        """Wait for the next permit; Stop when there are no more."""
        released = await self.queue.get()
        if released is None:
            raise Stop
        self.late.append(time.perf_counter() - released)


async def open_loop(
    server: BenchServer, rate: float, seconds: float, first_user: int, workers: int
) -> tuple[Pacer, float]:
    """Residents file requests one after another at `rate` updates/s in total; returns (pacer, seconds)."""
    pacer = Pacer(rate)
    ids = itertools.count(first_user)
    room = rooms()

    async def worker() -> None:
        try:
            while True:
                await play(server, next(ids), intake(next(room)), pacer.take)
        except Stop:
            return

    started = time.perf_counter()
    await asyncio.gather(pacer.run(seconds, workers), *(worker() for _ in range(workers)))
    return pacer, time.perf_counter() - started
