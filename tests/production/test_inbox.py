"""The durable inbox: answered once stored, handled right after in order per chat, never lost, never twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from bot.inbox import LEASE, Inbox
from bot.inbox_slots import waiting_on_the_network
from dispatch.clock import FakeClock
from storage.db import Database
from storage.models import InboxEvent
from tests.support.inbox import Recorder

CH = "wechat"


@contextlib.contextmanager
def counting_commits(db: Database) -> Iterator[list[None]]:
    """Collects one item per COMMIT the database's engine sends while inside."""
    commits: list[None] = []

    def count(*_: Any) -> None:
        commits.append(None)

    event.listen(db.engine.sync_engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(db.engine.sync_engine, "commit", count)


async def rows(db: Database) -> list[InboxEvent]:
    async with db.transaction() as s:
        return list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())


def held_back(db: Database, clock: FakeClock, name: str) -> tuple[Inbox, Recorder]:
    """A worker named `name` whose handling does not get going (until its gate opens)."""
    inbox, recorder = Inbox(db, clock.now, name), Recorder()
    inbox.register(CH, recorder)
    recorder.gate.clear()
    return inbox, recorder


async def stored_then_killed(inbox: Inbox, events: list[tuple[str, str, str]]) -> None:
    """The worker stores these (event id, chat, text) and is killed before handling any of them."""
    for event_id, chat, text in events:
        await inbox.accept(CH, event_id, chat, {"text": text})
    for task in list(inbox.tasks):
        task.cancel()
    await asyncio.gather(*inbox.tasks, return_exceptions=True)


async def test_an_event_is_answered_once_stored_and_handled_right_after(
    db: Database, clock: FakeClock
) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(CH, recorder)
    recorder.gate.clear()  # handling is slow (a photo download, a busy database)
    assert await inbox.accept(CH, "m1", "wechat:o1", {"text": "水管漏了"})
    # The platform has its answer while the event is still waiting, stored.
    assert recorder.handled == [] and [r.event_id for r in await rows(db)] == ["m1"]
    recorder.gate.set()
    await inbox.settle()
    assert recorder.handled == ["水管漏了"] and await rows(db) == []


async def test_one_chats_events_are_handled_in_the_order_they_came(db: Database, clock: FakeClock) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(CH, recorder)
    texts = [f"{chat}-{i}" for i in range(12) for chat in ("a", "b")]
    # All at once, as a burst of callbacks: their commits finish in any order.
    await asyncio.gather(*(inbox.accept(CH, t, f"wechat:{t[0]}", {"text": t}) for t in texts))
    await inbox.settle()
    for chat in ("a", "b"):
        assert [t for t in recorder.handled if t[0] == chat] == [t for t in texts if t[0] == chat]


async def test_a_repeat_of_an_event_still_waiting_is_dropped(db: Database, clock: FakeClock) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(CH, recorder)
    recorder.gate.clear()
    assert await inbox.accept(CH, "m7", "wechat:o1", {"text": "first"})
    assert not await inbox.accept(CH, "m7", "wechat:o1", {"text": "first"})  # WeChat's retry
    recorder.gate.set()
    await inbox.settle()
    assert recorder.handled == ["first"]


async def test_events_a_dead_worker_accepted_are_handled_by_another_once_its_lease_ran_out(
    db: Database, clock: FakeClock
) -> None:
    dead, recorder_dead = held_back(db, clock, "w1")
    await stored_then_killed(dead, [(f"m{i}", "wechat:o1", f"step {i}") for i in range(3)])
    other, recorder = Inbox(db, clock.now, "w2"), Recorder()
    other.register(CH, recorder)
    assert await other.sweep() == 0  # the dead worker's lease still runs: it might be only slow
    clock.advance(timedelta(seconds=LEASE + 1))
    assert await other.sweep() == 3
    assert await other.sweep() == 0
    assert recorder.handled == ["step 0", "step 1", "step 2"] and recorder_dead.handled == []
    await other.settle()  # handled rows are deleted in batches a moment after their handling
    assert await rows(db) == []


async def test_a_worker_restarted_under_its_name_takes_back_what_it_stored_at_once(
    db: Database, clock: FakeClock
) -> None:
    killed, _ = held_back(db, clock, "w1")
    steps = [(f"m{i}", "wechat:o1", f"step {i}") for i in range(3)]
    await stored_then_killed(killed, [*steps, ("n0", "wechat:o2", "another chat")])
    # Another worker's stored event (it is alive, only busy) is not taken.
    neighbour, _ = held_back(db, clock, "w2")
    await stored_then_killed(neighbour, [("x0", "wechat:o3", "the other worker's")])
    restarted, recorder = Inbox(db, clock.now, "w1"), Recorder()
    restarted.register(CH, recorder)
    # The lease (60 s) has not run out: the restart does not wait for it.
    assert await restarted.take_back() == 4
    assert [t for t in recorder.handled if t.startswith("step")] == ["step 0", "step 1", "step 2"]
    assert sorted(recorder.handled) == ["another chat", "step 0", "step 1", "step 2"]
    await restarted.settle()
    assert [r.event_id for r in await rows(db)] == ["x0"]
    assert await restarted.take_back() == 0


async def test_a_failed_event_is_kept_and_tried_again_later(db: Database, clock: FakeClock) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(CH, recorder)
    recorder.failures = 1  # the database went away for a moment
    await inbox.accept(CH, "m1", "wechat:o1", {"text": "hello"})
    await inbox.settle()
    [row] = await rows(db)
    assert row.attempts == 1 and recorder.handled == []
    assert await inbox.sweep() == 0  # not at once: a pause first
    clock.advance(timedelta(minutes=2))
    assert await inbox.sweep() == 1
    await inbox.settle()
    assert recorder.handled == ["hello"] and await rows(db) == []


async def test_two_workers_sweeping_at_once_handle_each_event_once(db: Database, clock: FakeClock) -> None:
    dead = Inbox(db, clock.now, "w0")
    dead.register(CH, Recorder())
    for i in range(40):
        await dead.accept(CH, f"m{i}", f"wechat:o{i % 5}", {"text": f"t{i}"})
        for task in list(dead.tasks):
            task.cancel()
    await asyncio.gather(*dead.tasks, return_exceptions=True)
    clock.advance(timedelta(seconds=LEASE + 1))
    workers = [Inbox(db, clock.now, f"w{n}") for n in (1, 2)]
    recorders = [Recorder(), Recorder()]
    for worker, recorder in zip(workers, recorders, strict=True):
        worker.register(CH, recorder)
    while await rows(db):
        await asyncio.gather(*(w.sweep() for w in workers))
    handled = recorders[0].handled + recorders[1].handled
    assert sorted(handled) == sorted(f"t{i}" for i in range(40))


async def test_a_burst_is_stored_in_a_few_transactions_and_a_repeat_inside_it_is_dropped(
    db: Database, clock: FakeClock
) -> None:
    inbox, recorder = held_back(db, clock, "w1")
    with counting_commits(db) as commits:
        texts = [f"{i % 10}-{i}" for i in range(100)]
        # A building-wide outage: a hundred callbacks at once, WeChat's retry of one among them.
        calls = [inbox.accept(CH, t, f"wechat:{t[0]}", {"text": t}) for t in texts]
        calls.insert(50, inbox.accept(CH, texts[3], f"wechat:{texts[3][0]}", {"text": texts[3]}))
        answers = await asyncio.gather(*calls)
        stored_in = len(commits)
    assert answers.count(False) == 1 and len(await rows(db)) == 100
    assert stored_in <= 5  # one turn at the database per batch, not one per callback
    if not db.is_sqlite:
        assert stored_in == 0  # each batch's INSERT stands alone: no BEGIN and COMMIT round trips
    recorder.gate.set()
    await inbox.settle()
    assert sorted(recorder.handled) == sorted(texts) and await rows(db) == []
    for chat in "0123456789":
        assert [t for t in recorder.handled if t[0] == chat] == [t for t in texts if t[0] == chat]


async def test_signed_callbacks_are_stored_with_their_nonces_and_a_replay_is_dropped(
    db: Database, clock: FakeClock
) -> None:
    inbox, recorder = held_back(db, clock, "w1")
    with counting_commits(db) as commits:
        # A burst of signed callbacks; among them a request replayed at once (its nonce again, another
        # message inside) and WeChat's retry of a message (the same message, a new nonce).
        calls = [
            inbox.accept(CH, f"m{i}", f"wechat:o{i % 7}", {"text": f"t{i}"}, nonce=f"n{i}") for i in range(30)
        ]
        calls.insert(10, inbox.accept(CH, "forged", "wechat:o1", {"text": "forged"}, nonce="n4"))
        calls.insert(20, inbox.accept(CH, "m6", "wechat:o6", {"text": "t6"}, nonce="n-retry"))
        answers = await asyncio.gather(*calls)
        stored_in = len(commits)
        # Later: a captured request replayed (an old nonce), and a new message.
        late = [
            await inbox.accept(CH, "forged-2", "wechat:o2", {"text": "forged"}, nonce="n12"),
            await inbox.accept(CH, "m30", "wechat:o2", {"text": "t30"}, nonce="n30"),
        ]
    assert answers.count(False) == 2 and late == [False, True]
    assert sorted(r.event_id for r in await rows(db)) == sorted(f"m{i}" for i in range(31))
    if not db.is_sqlite:
        assert stored_in == 0  # nonces and events in one statement that stands alone
    recorder.gate.set()
    await inbox.settle()
    assert sorted(recorder.handled) == sorted(f"t{i}" for i in range(31))


async def test_a_request_gone_before_its_commit_is_still_handled(db: Database, clock: FakeClock) -> None:
    inbox, recorder = Inbox(db, clock.now, "w1"), Recorder()
    inbox.register(CH, recorder)
    # The platform hung up (its timeout) while the INSERT was on its way: the event is stored all the same
    # and must not wait for a sweep a minute later.
    call = asyncio.ensure_future(inbox.accept(CH, "m1", "wechat:o1", {"text": "still here"}))
    await asyncio.sleep(0)
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    await inbox.settle()
    assert recorder.handled == ["still here"] and await rows(db) == []


async def test_an_event_waiting_on_the_network_lets_another_chat_take_its_turn(
    db: Database, clock: FakeClock
) -> None:
    inbox = Inbox(db, clock.now, "w1", concurrency=1)
    download = asyncio.Event()  # a resident's photo on a slow link
    other_chat = asyncio.Event()
    handled: list[str] = []
    running, most = 0, 0

    async def process(payload: dict[str, Any]) -> bool:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.01)
            if payload["text"] == "photo":
                async with waiting_on_the_network():
                    running -= 1
                    await download.wait()
                    running += 1
            handled.append(payload["text"])
            if payload["text"] == "hello":
                other_chat.set()
            return True
        finally:
            running -= 1

    inbox.register(CH, process)
    await inbox.accept(CH, "e1", "slow-chat", {"text": "photo"})
    await inbox.accept(CH, "e2", "other-chat", {"text": "hello"})
    async with asyncio.timeout(5):  # not held up by the download
        await other_chat.wait()
    assert handled == ["hello"]
    download.set()
    for i in range(5):  # the slot came back once, and only once: still one event handled at a time
        await inbox.accept(CH, f"later{i}", f"chat{i}", {"text": f"later{i}"})
    await inbox.settle()
    assert handled[:2] == ["hello", "photo"] and len(handled) == 7
    assert most == 1
    assert await inbox.pending() == 0
