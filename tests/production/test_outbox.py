"""The outbox sender on one or several workers: lanes and leases, order per chat, shared rate limits,
429s, outages, permanent failures and the supervisor's notice."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from bot.outbox import lanes
from bot.outbox.channel import DeliveryError
from bot.outbox.lanes import Lane
from bot.outbox.ratelimit import ChannelLimits, Rate, advance, allowed_at, reserve
from bot.outbox.sender import OutboxSender
from dispatch import staff
from dispatch.clock import FakeClock
from dispatch.tickets import Draft, submit
from handlers.messages import Outbound
from storage.db import Database
from storage.models import OutboxLane, OutboxMessage, RateLimit, TicketEvent
from tests.fakes.telegram_objects import TokenBucket
from tests.support.harness import RecordingDelivery
from tests.support.outbox import SlowDelivery, drain, queue

CH = "test"


def texts(delivery: RecordingDelivery, chat: str) -> list[str]:
    return [m.text for m in delivery.chat(chat)]


async def test_two_workers_send_each_row_once_in_order_per_chat(db: Database, clock: FakeClock) -> None:
    delivery = SlowDelivery(delay=0.002)
    a = OutboxSender(db, {CH: delivery}, clock, owner="a")
    b = OutboxSender(db, {CH: delivery}, clock, owner="b")
    chats = [str(1000 + i) for i in range(12)]
    for wave in range(3):
        await queue(db, clock.now(), [Outbound(CH, c, f"{c}:{wave}:{i}") for i in range(5) for c in chats])
        await drain(a, b)
    for chat in chats:
        assert texts(delivery, chat) == [f"{chat}:{w}:{i}" for w in range(3) for i in range(5)]
    assert delivery.overlaps == 0  # never two sends to one chat at once
    async with db.transaction() as s:
        lanes = (await s.execute(select(OutboxLane))).scalars().all()
    assert len(lanes) == 12 and all(lane.lease_until is None for lane in lanes)


async def test_a_dead_workers_lease_runs_out_and_another_takes_over(db: Database, clock: FakeClock) -> None:
    delivery = RecordingDelivery()
    wall = [datetime(2026, 1, 1, tzinfo=UTC)]
    dead = OutboxSender(db, {CH: delivery}, clock, owner="dead", lease=10, wall=lambda: wall[0])
    alive = OutboxSender(db, {CH: delivery}, clock, owner="alive", lease=10, wall=lambda: wall[0])
    await queue(db, clock.now(), [Outbound(CH, "5", "one"), Outbound(CH, "5", "two")])
    claimed = await dead._claim(10)  # it claims the chat, then "dies" before sending
    assert [lane.chat_id for lane in claimed] == ["5"]
    assert await alive.run_once() == 0  # the lease holds
    wall[0] += timedelta(seconds=11)
    assert await alive.run_once() == 2
    assert texts(delivery, "5") == ["one", "two"]


async def test_one_bad_chat_does_not_hold_up_the_others(db: Database, clock: FakeClock) -> None:
    delivery = SlowDelivery()
    delivery.errors_for["1"] = [DeliveryError("boom")] * 3
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, c, f"{c}-{i}") for i in range(3) for c in ("1", "2", "3")])
    await sender.run_once()
    assert texts(delivery, "1") == []  # its head waits (backoff); its later rows wait behind it, in order
    assert texts(delivery, "2") == ["2-0", "2-1", "2-2"] and texts(delivery, "3") == ["3-0", "3-1", "3-2"]
    for _ in range(3):
        clock.advance(timedelta(minutes=2))
        await sender.run_once()
    assert texts(delivery, "1") == ["1-0", "1-1", "1-2"]


async def test_permanent_error_gives_up_and_tells_the_supervisor(db: Database, clock: FakeClock) -> None:
    from dispatch.site import load_site

    site = load_site(None)
    community = site.default
    delivery = SlowDelivery()
    async with db.transaction() as s:
        boss = await staff.add(s, role=staff.Role.SUPERVISOR, name="Boss", now=clock.now())
        await staff.bind_identity(s, boss, CH, "boss", "boss", now=clock.now())
        boss.language = "en"
        resident = await staff.add(s, role=staff.Role.TECHNICIAN, name="Li", now=clock.now())
        await staff.bind_identity(s, resident, CH, "li", "li", now=clock.now())
        draft = Draft(
            community=community.code,
            scope="in_unit",
            phone="13812345678",
            description="Leak",
            category="plumbing",
            urgency="normal",
            building="1",
            unit="1",
            room="1203",
        )
        ticket = await submit(s, community, resident.id, draft, now=clock.now(), language="en")
        number, ticket_id = ticket.number, ticket.id
    delivery.errors_for["li"] = [DeliveryError("forbidden: bot was blocked by the user", permanent=True)] * 2
    await queue(
        db,
        clock.now(),
        [
            Outbound(CH, "li", f"Your job {number}", important=True),
            Outbound(CH, "li", "chit-chat"),  # not important: nobody is told
            Outbound(CH, "li", "after"),
        ],
    )
    sender = OutboxSender(db, {CH: delivery}, clock)
    await drain(sender)
    assert texts(delivery, "li") == ["after"]  # the chat goes on after the failures
    told = texts(delivery, "boss")
    assert len(told) == 1 and number in told[0] and "Li" in told[0] and "blocked" in told[0]
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        events = (
            (await s.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))).scalars().all()
        )
    assert [r.status for r in rows[:3]] == ["failed", "failed", "sent"]
    assert "blocked" in rows[0].error
    assert [e.kind for e in events].count("delivery_failed") == 1


async def test_429_pauses_the_chat_and_the_channel_without_blaming_the_row(
    db: Database, clock: FakeClock
) -> None:
    delivery = SlowDelivery()
    delivery.errors_for["7"] = [DeliveryError("Too Many Requests: retry after 1", retry_after=1.0)]
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, "7", "a"), Outbound(CH, "8", "b")])
    await sender.run_once()
    state = await sender.channel_state(CH)
    assert state.paused_until is not None and state.paused_until > datetime.now(UTC)
    assert await sender.run_once() == 0  # the channel is paused
    await asyncio.sleep(1.1)
    await drain(sender)
    assert texts(delivery, "7") == ["a"]
    async with db.transaction() as s:
        row = (await s.execute(select(OutboxMessage).where(OutboxMessage.chat_id == "7"))).scalar_one()
    assert row.attempts == 1 and row.status == "sent"  # the 429 did not count as a failed attempt


async def test_an_outage_pauses_the_channel_and_costs_no_attempts(db: Database, clock: FakeClock) -> None:
    delivery = SlowDelivery()
    down = DeliveryError("ConnectError: refused", outage=True)
    delivery.errors_for["9"] = [down] * 3
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, "9", "x")])
    started = time.monotonic()
    await drain(sender, rounds=400)
    assert texts(delivery, "9") == ["x"]
    assert time.monotonic() - started < 30
    async with db.transaction() as s:
        row = (await s.execute(select(OutboxMessage))).scalar_one()
    assert row.attempts == 1  # three outage failures, none held against the message


def test_gcra_allows_a_burst_then_the_rate() -> None:
    rate = Rate(1.0, burst=3)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = None
    times = []
    for _ in range(6):
        at = allowed_at(stamp, rate, 1, t0)
        stamp = advance(stamp, rate, 1, at)
        times.append((at - t0).total_seconds())
    assert times == [0, 0, 0, 1, 2, 3]
    # Two messages in one call (an album and its text) need two tokens at once.
    assert (allowed_at(advance(None, rate, 2, t0), rate, 2, t0) - t0).total_seconds() == 1


async def test_shared_limits_hold_across_workers(db: Database, clock: FakeClock) -> None:
    """Two workers, one deployment-wide budget: per chat and overall, measured at arrival."""
    delivery = SlowDelivery()
    limits = ChannelLimits(overall=Rate(20, burst=2), private=Rate(5, burst=2))
    senders = [OutboxSender(db, {CH: delivery}, clock, owner=f"w{i}", limits={CH: limits}) for i in range(2)]
    chats = [str(i) for i in range(1, 5)]
    await queue(db, clock.now(), [Outbound(CH, c, f"{c}/{i}") for i in range(8) for c in chats])
    started = time.monotonic()
    await drain(*senders)
    elapsed = time.monotonic() - started
    assert len(delivery.messages) == 32
    assert elapsed >= (32 - 2) / 20 * 0.9  # the overall limit, not twice it
    # Measured the way Telegram (and the fake server) does: token buckets with one message of slack for
    # network jitter between the reserved time and the arrival.
    assert violations(sorted(t for _, t in delivery.arrivals), capacity=3, rate=20) == 0
    for chat in chats:
        assert violations([t for c, t in delivery.arrivals if c == chat], capacity=3, rate=5) == 0
        assert texts(delivery, chat) == [f"{chat}/{i}" for i in range(8)]


async def test_a_chats_limit_outlives_its_lane_changing_hands(db: Database, clock: FakeClock) -> None:
    """The worker that takes a chat over learns its rate stamp with the lease: no second message too soon."""
    delivery = SlowDelivery()
    limits = {CH: ChannelLimits(private=Rate(1, burst=1))}
    a = OutboxSender(db, {CH: delivery}, clock, owner="a", limits=limits)
    b = OutboxSender(db, {CH: delivery}, clock, owner="b", limits=limits)
    await queue(db, clock.now(), [Outbound(CH, "1", "first")])
    await a.run_once()
    await queue(db, clock.now(), [Outbound(CH, "1", "second")])
    await b.run_once()
    assert texts(delivery, "1") == ["first", "second"]
    assert delivery.arrivals[1][1] - delivery.arrivals[0][1] >= 0.9


async def test_a_message_waiting_for_its_chat_does_not_hold_up_other_chats(
    db: Database, clock: FakeClock
) -> None:
    """A chat's second message within its second waits alone: the other chats use the channel meanwhile."""
    delivery = SlowDelivery()
    limits = {CH: ChannelLimits(overall=Rate(10), private=Rate(1))}
    sender = OutboxSender(db, {CH: delivery}, clock, owner="w", limits=limits)
    await queue(db, clock.now(), [Outbound(CH, "resident", "filed")])
    await sender.run_once()
    # The resident's next notice is due first, then an offer to each of five technicians.
    await queue(db, clock.now(), [Outbound(CH, "resident", "offered")])
    await queue(db, clock.now(), [Outbound(CH, f"tech{i}", "offer") for i in range(5)])
    started = time.monotonic()
    await drain(sender)
    arrived = {chat: at - started for chat, at in delivery.arrivals[1:]}
    offers = sorted(at for chat, at in arrived.items() if chat.startswith("tech"))
    assert len(offers) == 5 and texts(delivery, "resident") == ["filed", "offered"]
    # Five offers at 10 a second start at once and take 0.4 s, ahead of the resident's slot a second after
    # the first notice; reserved behind that slot they would all have waited for it.
    assert offers[0] < 0.3 and offers[-1] < 0.8, offers
    assert arrived["resident"] > offers[-1]
    first, second = (at for chat, at in delivery.arrivals if chat == "resident")
    assert second - first >= 0.9  # and the chat's own limit still holds


async def test_a_reservation_that_waited_for_the_channel_lock_plans_from_when_it_got_it(
    db: Database, clock: FakeClock
) -> None:
    """Another worker holds the channel's limiter row for half a second: the chat's next slot counts from the
    send that followed, not from before the wait (it would come half a second early)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite locks the whole database, so the sender waits before it even claims the chat")
    delivery = SlowDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock, limits={CH: ChannelLimits(private=Rate(1))})
    await queue(db, clock.now(), [Outbound(CH, "0", "warm-up")])
    await sender.run_once()  # the channel's limiter row now exists
    await queue(db, clock.now(), [Outbound(CH, "1", "first")])
    locked, release = asyncio.Event(), asyncio.Event()

    async def other_worker() -> None:
        async with db.transaction() as session:
            await session.execute(select(RateLimit).where(RateLimit.key == CH).with_for_update())
            locked.set()
            await release.wait()

    holder = asyncio.create_task(other_worker())
    await locked.wait()
    sending = asyncio.create_task(sender.run_once())
    await asyncio.sleep(0.5)
    release.set()
    await asyncio.gather(holder, sending)
    await queue(db, clock.now(), [Outbound(CH, "1", "second")])
    await drain(sender)
    assert texts(delivery, "1") == ["first", "second"]
    first, second = (at for chat, at in delivery.arrivals if chat == "1")
    assert second - first >= 0.9


async def test_a_worker_that_lost_the_lane_reserves_nothing(db: Database, clock: FakeClock) -> None:
    """A reservation is conditional on the lease: the lost one moves no stamp, the holder's moves both."""
    limits = ChannelLimits(overall=Rate(10), private=Rate(1))
    wall = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    lease = timedelta(seconds=60)
    async with db.transaction() as s:
        await lanes.create(s, [(CH, "1")])
        [stale] = await lanes.take(s, [(CH, "1")], "a", wall, wall + lease, 1)
    async with db.transaction() as s:  # a's lease ran out and b took the chat
        await s.execute(update(OutboxLane).values(lease_owner="b"))
    async with db.transaction() as s:
        assert await reserve(s, limits, stale, "a", 1, wall, lease) is None
    async with db.transaction() as s:
        lane = (await s.execute(select(OutboxLane))).scalar_one()
        channel = (await s.execute(select(RateLimit))).scalar_one()
        assert (lane.next_send_at, lane.lease_owner, channel.next_send_at) == (None, "b", None)
    held = Lane(CH, "1", wall + lease)
    later = wall + timedelta(seconds=5)
    async with db.transaction() as s:
        chosen = await reserve(s, limits, held, "b", 1, later, lease)
    assert chosen is not None and chosen.at == later
    async with db.transaction() as s:
        lane = (await s.execute(select(OutboxLane))).scalar_one()
        channel = (await s.execute(select(RateLimit))).scalar_one()
        assert lane.next_send_at == held.next_send_at == later + timedelta(seconds=1)
        assert lane.lease_until == held.lease_until == later + lease
        assert channel.next_send_at == later + timedelta(seconds=0.1)


def violations(arrivals: list[float], capacity: float, rate: float) -> int:
    """How many arrivals a token bucket would have refused."""
    bucket = TokenBucket(capacity, rate, arrivals[0] if arrivals else 0.0)
    refused = 0
    for at in arrivals:
        if bucket.wait_time(at) > 0:
            refused += 1
        else:
            bucket.take()
    return refused


@pytest.mark.parametrize("kind", ["answer", "send"])
async def test_answers_are_not_rate_limited(db: Database, clock: FakeClock, kind: str) -> None:
    delivery = SlowDelivery()
    limits = ChannelLimits(private=Rate(2, burst=1))
    sender = OutboxSender(db, {CH: delivery}, clock, limits={CH: limits})
    messages = [Outbound(CH, "1", "hi", callback_id=f"cb{i}" if kind == "answer" else "") for i in range(3)]
    await queue(db, clock.now(), messages)
    started = time.monotonic()
    await drain(sender)
    took = time.monotonic() - started
    assert (took < 0.5) if kind == "answer" else (took > 0.9)


class TapDelivery(SlowDelivery):
    """A channel like Telegram: a tap's answer is a toast, not a message in the chat."""

    ephemeral_answers = True


@pytest.mark.parametrize("ephemeral", [True, False])
async def test_a_tap_answer_does_not_wait_behind_a_paused_chat(
    db: Database, clock: FakeClock, ephemeral: bool
) -> None:
    delivery = TapDelivery() if ephemeral else SlowDelivery()
    delivery.errors_for["7"] = [DeliveryError("Too Many Requests: retry after 2", retry_after=2.0)]
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, "7", "Offer BX-1 was taken by Zhang")])
    await sender.run_once()  # 429: the chat waits two seconds
    await queue(db, clock.now(), [Outbound(CH, "7", "Already taken", callback_id="q1")])
    await sender.run_once()
    if ephemeral:
        assert delivery.answers == [("q1", "Already taken")]  # answered while the chat waits out its 429
    else:
        assert delivery.answers == []  # a chat message on this channel: it keeps its place in the chat
    await asyncio.sleep(2.1)
    await drain(sender)
    assert delivery.answers == [("q1", "Already taken")]
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [(r.kind, r.status) for r in rows] == [("send", "sent"), ("answer", "sent")]
    assert texts(delivery, "7") == ["Offer BX-1 was taken by Zhang"]


class HangingTaps(TapDelivery):
    """The answer to tap "slow" hangs (a stalled connection) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        if message.callback_id == "slow":
            await self.release.wait()
        return await super().deliver(message, edit_target)


async def test_a_fan_out_wider_than_the_first_claim_goes_out_in_one_pass(
    db: Database, clock: FakeClock
) -> None:
    """A few chats are claimed first so their messages leave early; the rest follow at once, not a pass on."""
    delivery = SlowDelivery(delay=0.01)
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, f"tech{i}", "offer") for i in range(50)])
    running = asyncio.create_task(sender.run_forever(interval=60))
    try:
        for _ in range(250):
            if len(delivery.messages) == 50:
                break
            await asyncio.sleep(0.02)
        assert sorted(m.chat_id for m in delivery.messages) == sorted(f"tech{i}" for i in range(50))
        assert delivery.overlaps == 0
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_tap_answer_does_not_wait_for_an_earlier_slow_answer(db: Database, clock: FakeClock) -> None:
    """Answers claimed together go out together, but later taps need not wait for a stalled one."""
    delivery = HangingTaps()
    sender = OutboxSender(db, {CH: delivery}, clock)
    running = asyncio.create_task(sender.run_forever(interval=0.05))
    try:
        await queue(db, clock.now(), [Outbound(CH, "1", "Already taken", callback_id="slow")])
        sender.wake()
        await asyncio.sleep(0.2)
        await queue(db, clock.now(), [Outbound(CH, "2", "Already taken", callback_id="quick")])
        sender.wake()
        for _ in range(100):
            if delivery.answers:
                break
            await asyncio.sleep(0.02)
        assert delivery.answers == [("quick", "Already taken")]
        delivery.release.set()
        for _ in range(100):
            if len(delivery.answers) == 2:
                break
            await asyncio.sleep(0.02)
        assert delivery.answers[1] == ("slow", "Already taken")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_edits_find_their_message_sent_in_the_same_batch_or_earlier(
    db: Database, clock: FakeClock
) -> None:
    delivery = SlowDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock)
    now = clock.now()
    await queue(
        db,
        now,
        [
            Outbound(CH, "7", "Job card: new", ref="card:1"),
            Outbound(CH, "7", "Job card: contacted", edit_ref="card:1"),
            Outbound(CH, "7", "A note in between"),
            Outbound(CH, "7", "Edit of something never sent", edit_ref="card:404"),
        ],
    )
    await drain(sender)
    await queue(db, now, [Outbound(CH, "7", "Job card: on site", edit_ref="card:1")])  # a later batch
    await drain(sender)
    card, note = delivery.chat("7")
    assert (card.text, card.edits) == ("Job card: on site", 2)
    assert note.text == "A note in between"
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["sent", "sent", "sent", "skipped", "sent"]
    assert rows[3].error == "nothing to edit"


async def test_a_send_longer_than_the_lease_is_not_sent_twice(db: Database, clock: FakeClock) -> None:
    """A big upload on a slow link outlasts the lease: its lane is renewed, so no worker sends it again."""
    delivery = SlowDelivery(delay=3.0)
    slow = OutboxSender(db, {CH: delivery}, clock, owner="slow", lease=2.0)
    other = OutboxSender(db, {CH: delivery}, clock, owner="other", lease=2.0)
    await queue(db, clock.now(), [Outbound(CH, "9", "Photo of the finished repair")])
    running = asyncio.create_task(slow.run_forever(interval=0.2))
    try:
        while not delivery.in_flight["9"]:  # noqa: ASYNC110 - waits for the slow worker to be sending
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 7.0  # past the send, and past a second one had it started at 2 s
        while time.monotonic() < deadline:
            await other.run_once()  # another worker tries to take the chat all along
            await asyncio.sleep(0.2)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert texts(delivery, "9") == ["Photo of the finished repair"]
    assert delivery.overlaps == 0
    assert await slow.pending_count() == 0


async def test_a_send_in_doubt_is_not_sent_again_and_its_chat_waits(db: Database, clock: FakeClock) -> None:
    """No answer to a send that reached the channel: it may have arrived, so it is finished as in doubt, never
    repeated; the chat's next message waits long enough for a late delivery to come first."""
    delivery = SlowDelivery()
    delivery.errors_for["3"] = [DeliveryError("no answer: Timed out", in_doubt=True, settle=0.6)]
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(
        db, clock.now(), [Outbound(CH, "3", "Offer BX-9"), Outbound(CH, "3", "later"), Outbound(CH, "4", "x")]
    )
    started = time.monotonic()
    await drain(sender)
    assert texts(delivery, "3") == ["later"] and texts(delivery, "4") == ["x"]
    later = next(at for chat, at in delivery.arrivals if chat == "3")
    assert later - started >= 0.6
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["in_doubt", "sent", "sent"]
    assert rows[0].attempts == 1 and "not sent again" in rows[0].error


@pytest.mark.parametrize("ref", ["offer:1", ""], ids=["offer", "notice"])
async def test_a_message_in_flight_when_its_worker_died_is_not_sent_again(
    db: Database, clock: FakeClock, ref: str
) -> None:
    """Every new message (an offer, a plain notice alike) is marked before the call; the worker that finds
    the mark on a pending row knows it may have arrived and does not send a second copy. The chat goes on."""
    delivery = SlowDelivery()
    await queue(db, clock.now(), [Outbound(CH, "5", "New job BX-1", ref=ref), Outbound(CH, "5", "next")])
    async with db.transaction() as s:  # a worker marked it, called Telegram and was killed
        first = (await s.execute(select(func.min(OutboxMessage.id)))).scalar_one()
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(sending_at=clock.now()))
    await drain(OutboxSender(db, {CH: delivery}, clock))
    assert texts(delivery, "5") == ["next"]
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["in_doubt", "sent"]


async def test_every_message_is_marked_in_flight_before_its_call(db: Database, clock: FakeClock) -> None:
    """Plain notices too, so that no kill can make one go out twice; they are recorded sent afterwards."""
    delivery = MarkWatcher(db)
    await queue(db, clock.now(), [Outbound(CH, "8", f"notice {i}", ref=f"n:{i}") for i in range(3)])
    await drain(OutboxSender(db, {CH: delivery}, clock))
    assert delivery.marks == [True, True, True]
    assert texts(delivery, "8") == ["notice 0", "notice 1", "notice 2"]
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["sent"] * 3


async def test_a_worker_told_to_stop_mid_call_records_the_message_instead_of_leaving_it_in_doubt(
    db: Database, clock: FakeClock
) -> None:
    """A clean stop (a deploy) lets a request already out finish: its row is recorded as sent, so the next
    worker neither sends it again nor files it as in doubt, and sends what is left."""
    slow = SlowDelivery(delay=0.5)
    await queue(db, clock.now(), [Outbound(CH, "9", "first"), Outbound(CH, "9", "second")])
    sender = OutboxSender(db, {CH: slow}, clock)
    running = asyncio.create_task(sender.run_forever(interval=0.05))
    for _ in range(100):  # until the first call is out
        if slow.in_flight["9"]:
            break
        await asyncio.sleep(0.01)
    assert slow.in_flight["9"] == 1
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [(r.status, r.sending_at is None) for r in rows] == [("sent", False), ("pending", True)]
    fresh = SlowDelivery()
    await drain(OutboxSender(db, {CH: fresh}, clock))
    assert texts(slow, "9") == ["first"] and texts(fresh, "9") == ["second"]


class MarkWatcher(SlowDelivery):
    """Reads the row's in-flight mark while the channel has it."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.marks: list[bool] = []

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        async with self.db.transaction() as s:
            row = (
                await s.execute(select(OutboxMessage).where(OutboxMessage.ref == message.ref))
            ).scalar_one()
        self.marks.append(row.sending_at is not None)
        return await super().deliver(message, edit_target)


class CommitCounter(MarkWatcher):
    """Also notes how many transactions the worker had committed when the call came."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.committed = 0
        self.committed_at_call: list[int] = []
        event.listen(db.engine.sync_engine, "commit", self._commit)

    def _commit(self, *_: Any) -> None:
        self.committed += 1

    def stop(self) -> None:
        event.remove(self.db.engine.sync_engine, "commit", self._commit)

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        self.committed_at_call.append(self.committed)
        return await super().deliver(message, edit_target)


async def test_a_lone_reply_is_marked_in_flight_by_a_statement_of_its_own(
    db: Database, clock: FakeClock
) -> None:
    """A chat's only message waits for one round trip before its call: the mark alone, without a BEGIN and
    COMMIT (on SQLite the claim of the chat is the one transaction before it; on PostgreSQL the claim's
    statements stand alone too); the mark is still there before the call. On PostgreSQL its record after the
    call is one statement too."""
    await queue(db, clock.now(), [Outbound(CH, "5", "Your repair BX-7 is filed", ref="r:7")])
    delivery = CommitCounter(db)
    try:
        await OutboxSender(db, {CH: delivery}, clock).run_once()
    finally:
        delivery.stop()
    assert texts(delivery, "5") == ["Your repair BX-7 is filed"] and delivery.marks == [True]
    assert delivery.committed_at_call == [1 if db.is_sqlite else 0]
    # Recorded as sent and the chat given up, on PostgreSQL by one statement too: the only other transaction
    # is the watcher's own read.
    assert delivery.committed == (3 if db.is_sqlite else 1)
    async with db.transaction() as s:
        row = (await s.execute(select(OutboxMessage))).scalar_one()
        lane = (await s.execute(select(OutboxLane))).scalar_one()
    assert (row.status, row.sending_at is not None, lane.lease_owner) == ("sent", True, "")


async def test_an_offer_is_marked_before_the_call_and_a_refused_one_is_tried_again(
    db: Database, clock: FakeClock
) -> None:
    delivery = MarkWatcher(db)
    delivery.errors_for["6"] = [DeliveryError("Internal Server Error")]  # answered: not delivered
    sender = OutboxSender(db, {CH: delivery}, clock)
    await queue(db, clock.now(), [Outbound(CH, "6", "New job BX-2", ref="offer:2")])
    await sender.run_once()
    clock.advance(timedelta(minutes=2))
    await drain(sender)
    assert delivery.marks == [True, True]
    assert texts(delivery, "6") == ["New job BX-2"]


async def test_a_claim_that_cannot_read_its_rows_gives_the_chats_back(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's lease commits on its own (PostgreSQL): when reading the chat's rows then fails, the chat is
    released at once rather than held for the lease's minute, and the next pass sends its message."""
    await queue(db, clock.now(), [Outbound(CH, "8", "Your repair BX-8 is filed")])
    delivery = RecordingDelivery()
    sender = OutboxSender(db, {CH: delivery}, clock)
    prefetch = lanes.prefetch

    async def broken(*args: Any) -> None:
        raise ConnectionResetError("connection lost while reading")

    monkeypatch.setattr(lanes, "prefetch", broken)
    with pytest.raises(ConnectionResetError):
        await sender.run_once()
    async with db.transaction() as s:
        owners = (await s.execute(select(OutboxLane.lease_owner))).scalars().all()
    assert set(owners) <= {""} and texts(delivery, "8") == []  # on SQLite the claim was rolled back whole
    monkeypatch.setattr(lanes, "prefetch", prefetch)
    await sender.run_once()
    assert texts(delivery, "8") == ["Your repair BX-8 is filed"]
