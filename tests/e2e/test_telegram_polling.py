"""Polling against the fake Bot API: nothing is confirmed before it is handled; no chat waits for another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from telegram import Bot, Update

from bot.telegram import polling
from bot.telegram.polling import DurablePoller
from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "123456:poll-token"


class Handler:
    """The poller's `handle`: records each update it is given and holds the ones a test gates."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.handled: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.fail_once: set[int] = set()

    async def __call__(self, update: Update) -> bool:
        update_id = update.update_id
        self.started.append(update_id)
        if (gate := self.gates.get(update_id)) is not None:
            await gate.wait()
        if update_id in self.fail_once:
            self.fail_once.discard(update_id)
            return False  # as when the database is down: not recorded
        self.handled.append(update_id)
        return True

    def hold(self, update_id: int) -> asyncio.Event:
        """Keep this update in handling until the returned event is set."""
        self.gates[update_id] = asyncio.Event()
        return self.gates[update_id]


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """A running fake server for one test."""
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake server."""
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.file_base_url) as real:
        yield real


async def until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:  # noqa: ASYNC109
    """Wait until `predicate()` holds (TimeoutError after `timeout` seconds)."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"not within {timeout} s")


async def test_a_slow_update_holds_up_only_its_own_chat(server: FakeTelegramServer, bot: Bot) -> None:
    handler = Handler()
    poller = DurablePoller(bot, handler, long_poll=1)
    poller.start()
    try:
        slow = server.push_message(1, "a photo that takes long to download")
        gate = handler.hold(slow)
        await until(lambda: slow in handler.started)

        # Another resident and a technician write while the first update is still being handled.
        other = server.push_message(2, "/start")
        tap = server.push_message(3, "/jobs")
        await until(lambda: {other, tap} <= set(handler.handled), timeout=10)

        # The first resident's next message waits for their first, and nothing has been confirmed past
        # the update still in hand: a crash now would have Telegram send all of them again.
        same_chat = server.push_message(1, "and my flat is 3-201")
        later = server.push_message(4, "hello")
        await until(lambda: later in handler.handled)
        assert same_chat not in handler.started
        assert server.pending_updates == 5

        gate.set()
        await until(lambda: server.pending_updates == 0)
        assert handler.handled.index(slow) < handler.handled.index(same_chat)
        assert sorted(handler.handled) == [slow, other, tap, same_chat, later]
    finally:
        await poller.stop()


async def test_a_restart_mid_update_gets_it_again(server: FakeTelegramServer, bot: Bot) -> None:
    first = Handler()
    poller = DurablePoller(bot, first, long_poll=1)
    poller.start()
    stuck = server.push_message(1, "the worker dies while handling this")
    first.hold(stuck)
    await until(lambda: stuck in first.started)
    done = server.push_message(2, "handled before the crash")
    await until(lambda: done in first.handled)

    # A crash: the loop and the handling vanish without a stop.
    assert poller._task is not None
    poller._task.cancel()
    for task in poller._flight.values():
        task.cancel()
    await asyncio.sleep(0.05)

    second = Handler()
    again = DurablePoller(bot, second, long_poll=1)
    again.start()
    try:
        # Both come again: the one that was handled is dropped by the router's event log in the real bot.
        await until(lambda: {stuck, done} <= set(second.handled))
        await until(lambda: server.pending_updates == 0)
    finally:
        await again.stop()


async def test_an_update_that_was_not_recorded_comes_again_in_its_chats_order(
    server: FakeTelegramServer, bot: Bot
) -> None:
    handler = Handler()
    poller = DurablePoller(bot, handler, long_poll=1)
    poller.start()
    try:
        failing = server.push_message(1, "the database is down for this one")
        handler.fail_once.add(failing)
        gate = handler.hold(failing)
        after = server.push_message(1, "then this, in the same chat")
        elsewhere = server.push_message(2, "another chat")
        await until(lambda: elsewhere in handler.handled)
        gate.set()

        await until(lambda: after in handler.handled and server.pending_updates == 0, timeout=6.0)
        assert handler.started.count(failing) == 2
        assert handler.handled.index(failing) < handler.handled.index(after)
        assert handler.started.count(after) == 1  # never handled ahead of the one before it
    finally:
        await poller.stop()


async def test_a_stop_finishes_and_confirms_the_updates_in_hand(server: FakeTelegramServer, bot: Bot) -> None:
    handler = Handler()
    poller = DurablePoller(bot, handler, long_poll=1)
    poller.start()
    busy = server.push_message(1, "being handled when the bot stops")
    gate = handler.hold(busy)
    await until(lambda: busy in handler.started)

    stopping = asyncio.create_task(poller.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    gate.set()
    await stopping
    assert handler.handled == [busy]
    assert server.pending_updates == 0


async def test_a_chats_backlog_does_not_hold_up_other_chats(server: FakeTelegramServer, bot: Bot) -> None:
    handler = Handler()
    poller = DurablePoller(bot, handler, long_poll=1, max_concurrent=4)
    poller.start()
    try:
        slow = server.push_message(1, "a photo that takes long to download")
        gate = handler.hold(slow)
        await until(lambda: slow in handler.started)
        # More than the slots of messages from the same resident: they wait for their turn, taking no slot.
        backlog = [server.push_message(1, f"and another thing, {n}") for n in range(4)]
        await asyncio.sleep(0.3)
        other = server.push_message(2, "/start")
        await until(lambda: other in handler.handled, timeout=10)
        assert not set(backlog) & set(handler.started)

        gate.set()
        await until(lambda: server.pending_updates == 0)
        assert handler.handled == [other, slow, *backlog]
    finally:
        await poller.stop()


async def test_a_refused_token_ends_polling_and_a_stop_still_returns(server: FakeTelegramServer) -> None:
    server.token = TOKEN  # any other token is refused with 401, as Telegram does
    refused = Bot("654321:not-this-bot", base_url=server.base_url, base_file_url=server.file_base_url)
    poller = DurablePoller(refused, Handler(), long_poll=1)
    poller.start()
    assert poller._task is not None
    task = poller._task
    await until(task.done)
    await poller.stop()  # neither raises nor hangs, so the rest of the bot can shut down


async def test_a_stop_cuts_off_an_update_that_outlasts_the_grace_and_leaves_it_unconfirmed(
    server: FakeTelegramServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "STOP_GRACE", 0.3)
    handler = Handler()
    poller = DurablePoller(bot, handler, long_poll=1)
    poller.start()
    stuck = server.push_message(1, "still being handled at the stop")
    handler.hold(stuck)
    await until(lambda: stuck in handler.started)
    in_hand = poller._flight[stuck]

    await poller.stop()
    assert in_hand.cancelled()  # nothing of it runs on against a closed bot and database
    assert server.pending_updates == 1  # Telegram sends it again to the next start
