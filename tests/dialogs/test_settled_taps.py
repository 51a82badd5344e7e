"""Taps on offers that are already settled are answered from one read, exactly as the whole path answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import event, func, select, update

from handlers.buttons import OfferTap
from handlers.flood import InboundLimits
from handlers.messages import Kind, Outbound
from storage.db import Database
from storage.models import InboundEvent, OutboxMessage, Ticket
from tests.support.dialogs import file_ticket, ticket
from tests.support.harness import CHANNEL, Harness, add_staff

R = "resident"
NAMES = ("Zhang", "Li", "Wang")


async def storm_and_after(h: Harness) -> list[str]:
    """Li wins; then every kind of late tap; the answers, in order."""
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await add_staff(h, "Wang", language="zh_CN")
    await file_ticket(h, R, photos=0)
    accept = {name: h.find_choice(name, "抢单" if name == "Wang" else "Accept").data for name in NAMES}
    before = len(h.delivery.answers)
    await h.tap_data("Li", accept["Li"])
    await h.tap_data("Zhang", accept["Zhang"])  # lost: taken
    await h.tap_data("Wang", accept["Wang"])  # lost, in Chinese
    await h.tap_data("Li", accept["Li"])  # the winner again
    await h.tap_data("Wang", accept["Zhang"])  # someone else's copy
    await h.tap_data(R, accept["Zhang"])  # a resident replaying a technician's button
    await h.tap_data("Zhang", "o:forged-token:a")
    await h.tap_data("Stranger", accept["Zhang"], chat_id="Zhang")  # unknown account in Zhang's chat
    async with h.db.transaction() as s:
        await s.execute(update(Ticket).values(status="cancelled", technician_id=None))
    await h.tap_data("Zhang", accept["Zhang"])
    return [text for _, text in h.delivery.answers[before:]]


Quick = Callable[..., Awaitable[list[Outbound] | None]]


async def test_settled_taps_answer_as_the_whole_path_does(
    harness: Harness,
) -> None:
    routes = harness.router.routes
    offer = routes.buttons[OfferTap]
    quick: Quick = offer.quick  # type: ignore[assignment]
    settled: list[bool] = []

    async def recording(*args: object) -> list[Outbound] | None:
        answered = await quick(*args)
        settled.append(answered is not None)
        return answered

    buttons = {**routes.buttons, OfferTap: replace(offer, quick=recording)}
    harness.router.routes = replace(routes, buttons=buttons)
    answers = await storm_and_after(harness)
    number = (await ticket(harness)).number
    assert answers == [
        f"✅ {number} is yours.",
        "Already taken by Li.",
        "该工单已由Li接单。",
        f"✅ {number} is yours.",
        "抱歉，无法识别这个按钮。",
        "Sorry, I couldn't read that button.",
        "Sorry, I couldn't read that button.",
        "Sorry, I couldn't read that button.",
        "This request was cancelled.",
    ]
    # Only the taps that could change nothing took the short way: the loser, the winner's second tap and
    # the tap on the cancelled request; the grab itself and the refusals went the whole way.
    assert settled == [False, True, True, True, False, False, False, False, True]


async def test_without_the_short_way_the_answers_are_the_same(
    harness: Harness,
) -> None:
    routes = harness.router.routes
    buttons = {**routes.buttons, OfferTap: replace(routes.buttons[OfferTap], quick=None)}
    harness.router.routes = replace(routes, buttons=buttons)
    answers = await storm_and_after(harness)
    number = (await ticket(harness)).number
    assert answers[:4] == [
        f"✅ {number} is yours.",
        "Already taken by Li.",
        "该工单已由Li接单。",
        f"✅ {number} is yours.",
    ]
    assert answers[4:] == ["抱歉，无法识别这个按钮。"] + ["Sorry, I couldn't read that button."] * 3 + [
        "This request was cancelled."
    ]


async def test_a_repeated_delivery_of_a_late_tap_is_answered_once(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await file_ticket(h, R, photos=0)
    accept = h.find_choice("Zhang", "Accept").data
    await h.tap("Li", "Accept")
    tap = h.inbound("Zhang", Kind.BUTTON, button=accept, callback_id="q")
    first, again = await h.router.handle(tap), await h.router.handle(tap)
    assert [m.text for m in first.outbound] == ["Already taken by Li."] and again.duplicate


@contextmanager
def counting(db: Database) -> Iterator[dict[str, int]]:
    """The SQL statements and COMMITs the database's engine sends while inside."""
    seen = {"statements": 0, "commits": 0}

    def statement(*_: object) -> None:
        seen["statements"] += 1

    def commit(*_: object) -> None:
        seen["commits"] += 1

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


async def lost_with_toasts_answered_here(h: Harness) -> tuple[str, list[Outbound]]:
    """Li took the offer; Zhang's Accept button, and the toasts the process answers itself from now on (as
    Telegram's are: bot/outbox/answers.py AnswerNow)."""
    toasts: list[Outbound] = []
    h.router.answerers[CHANNEL] = toasts.append
    await add_staff(h, "Zhang")
    await add_staff(h, "Li")
    await file_ticket(h, R, photos=0)
    accept = h.find_choice("Zhang", "Accept").data
    await h.tap("Li", "Accept")
    toasts.clear()
    return accept, toasts


async def test_a_late_tap_the_process_answers_itself_is_one_read_and_one_record(harness: Harness) -> None:
    h = harness
    accept, toasts = await lost_with_toasts_answered_here(h)
    tap = h.inbound("Zhang", Kind.BUTTON, button=accept, callback_id="q")
    with counting(h.db) as seen:
        first = await h.router.handle(tap)
    again = await h.router.handle(tap)
    assert [m.text for m in first.outbound] == ["Already taken by Li."] and again.duplicate
    assert [(m.callback_id, m.text) for m in toasts] == [("q", "Already taken by Li.")]
    if h.db.is_sqlite:  # the writers' turn costs a statement what it costs a transaction: the whole path
        assert seen["commits"] == 1
    else:  # a grab storm's losers: no BEGIN, no row for the toast, no COMMIT
        assert seen == {"statements": 2, "commits": 0}
    async with h.db.transaction() as s:  # the tap is in the event log, and nothing of it waits in the outbox
        logged = select(func.count()).where(InboundEvent.event_id == tap.event_id)
        assert await s.scalar(logged) == 1
        assert not (await s.execute(select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()


async def test_a_late_tap_over_the_senders_limit_is_told_to_slow_down(harness: Harness) -> None:
    h = harness
    accept, toasts = await lost_with_toasts_answered_here(h)
    h.router.limits = InboundLimits(flood_burst=2, flood_per_minute=6)
    for i in range(4):
        await h.router.handle(h.inbound("Zhang", Kind.BUTTON, button=accept, callback_id=f"q{i}"))
    assert [(m.callback_id, m.text[:30]) for m in toasts] == [
        ("q0", "Already taken by Li."),
        ("q1", "Already taken by Li."),
        ("q2", "You're sending messages faster"),
        ("q3", ""),  # a silent answer: the spinner stops, the warning is not repeated
    ]
