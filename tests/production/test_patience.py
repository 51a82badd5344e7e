"""Work that can wait yields to the inbox: an offer's other copies are closed once the taps are handled."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.inbox import Inbox
from bot.outbox import drain as drain_module
from bot.outbox.sender import OutboxSender
from dispatch.clock import FakeClock
from handlers.messages import Outbound
from storage.db import Database
from tests.support.inbox import Recorder
from tests.support.outbox import SlowDelivery, drain, queue

CH = "test"
INBOX_CH = "wechat"


async def test_only_an_edit_nothing_waits_behind_yields(db: Database, clock: FakeClock) -> None:
    delivery = SlowDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock)
    waits: list[tuple[float, list[str]]] = []

    async def patience(seconds: float) -> None:
        waits.append((seconds, [m.text for m in delivery.messages]))

    sender.patience = patience
    now = clock.now()
    await queue(
        db, now, [Outbound(CH, "1", "Offer R-1", ref="offer:1"), Outbound(CH, "2", "Card", ref="card:2")]
    )
    await drain(sender)
    assert waits == []
    await queue(
        db,
        now,
        [
            Outbound(
                CH, "1", "Offer R-1: taken by Li", edit_ref="offer:1"
            ),  # a copy closed: nothing behind it
            Outbound(CH, "2", "Card: contacted", edit_ref="card:2"),  # an edit a new message waits behind
            Outbound(CH, "2", "When can you come?"),
        ],
    )
    await drain(sender)
    assert [seconds for seconds, _ in waits] == [drain_module.EDIT_PATIENCE]
    assert "Offer R-1: taken by Li" not in waits[0][1]  # it waited before it went out
    assert [m.text for m in delivery.chat("1")] == ["Offer R-1: taken by Li"]
    assert [m.text for m in delivery.chat("2")] == ["Card: contacted", "When can you come?"]


async def test_a_closed_copy_goes_out_once_the_taps_are_handled_and_waits_no_longer_than_its_patience(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(INBOX_CH, recorder)
    delivery = SlowDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock)
    sender.patience = inbox.quiet
    now = clock.now()
    await queue(db, now, [Outbound(CH, "1", "Offer R-1", ref="offer:1")])
    await drain(sender)

    # A storm's taps are being handled: the copy waits for them (a long patience, so a slow machine can't
    # let it out early), and goes as soon as they are.
    monkeypatch.setattr(drain_module, "EDIT_PATIENCE", 30.0)
    recorder.gate.clear()
    for i in range(3):
        await inbox.accept(INBOX_CH, f"tap{i}", f"wechat:tech{i}", {"text": f"tap {i}"})
    await queue(db, now, [Outbound(CH, "1", "Offer R-1: taken by Li", edit_ref="offer:1")])
    sending = asyncio.create_task(sender.run_once())
    await asyncio.sleep(0.3)
    assert not sending.done() and delivery.chat("1")[0].edits == 0
    recorder.gate.set()
    async with asyncio.timeout(10):
        await sending
    assert sorted(recorder.handled) == ["tap 0", "tap 1", "tap 2"]  # all of them before the copy
    assert delivery.chat("1")[0].text == "Offer R-1: taken by Li"

    # Handling that never ends holds the copy back no longer than its patience.
    monkeypatch.setattr(drain_module, "EDIT_PATIENCE", 0.3)
    recorder.gate.clear()
    await inbox.accept(INBOX_CH, "stuck", "wechat:tech9", {"text": "stuck"})
    await queue(db, now, [Outbound(CH, "1", "Offer R-1: cancelled", edit_ref="offer:1")])
    started = time.monotonic()
    async with asyncio.timeout(10):
        await sender.run_once()
    assert delivery.chat("1")[0].text == "Offer R-1: cancelled"
    assert time.monotonic() - started >= 0.3
    recorder.gate.set()
    await inbox.settle()
