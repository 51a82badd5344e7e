"""Helpers for conversation tests: filing a ticket the way a resident does, and reading what happened."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.timer_sweep import sweep_all
from storage.models import Ticket, TicketEvent, Timer
from tests.support.harness import Harness
from tests.support.media import jpeg

U = "1001"


async def file_ticket(h: Harness, user: str = U, photos: int = 1) -> str:
    """Walk the whole happy path; return the confirmation text."""
    await h.say(user, "报修")
    await h.tap(user, "My home")
    await h.tap(user, "Building 1")
    await h.tap(user, "Unit 1")
    await h.say(user, "1203")
    await h.say(user, "13812345678")
    await h.say(user, "厨房水管爆管了，水漫一地")
    if "检查" in h.last(user).text or "check" in h.last(user).text:
        await h.tap(user, "repair")
    await h.tap(user, "Yes")
    if "📝 File my own" in h.last(user).labels():
        await h.tap(
            user, "File my own"
        )  # a neighbour's open report of the same fault: this test files its own
    for i in range(photos):
        await h.photo(user, jpeg(color=(i * 40 % 255, 20, 20)))
    await h.tap(user, "Done" if photos else "Skip")
    await h.tap(user, "As soon")
    replies = await h.tap(user, "Confirm")
    # The user's own last reply: the offers to technicians go out in the same pass, in any order across chats.
    return [m for m in replies if m.chat_id == user][-1].text


async def ticket(h: Harness) -> Ticket:
    """The newest ticket."""
    async with h.db.transaction() as s:
        return (await s.execute(select(Ticket).order_by(Ticket.id.desc()))).scalars().first()  # type: ignore[return-value]


async def events(h: Harness) -> list[str]:
    """Every ticket event\'s kind, oldest first."""
    async with h.db.transaction() as s:
        return [e.kind for e in (await s.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars()]


async def pending_timers(h: Harness) -> dict[str, int]:
    """How many timers of each kind are waiting."""
    async with h.db.transaction() as s:
        rows = (await s.execute(select(Timer).where(Timer.status == "pending"))).scalars().all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    return counts


async def tick(h: Harness, minutes: float) -> None:
    """Let time pass, fire what fell due, deliver what it said."""
    h.clock.advance(timedelta(minutes=minutes))
    await sweep_all(h.db, h.services)
    await h.flush()
