"""Helpers for matter (报事) conversations through the chat harness: the office's people, a filed matter."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Ticket, TicketEvent, Timer
from tests.support.harness import Harness, add_staff

# The demo site's departments name these as their staff: security, cleaning and gardens 陈主管; customer
# service and billing 客服小周.
CHEN, ZHOU, LIU = "chen", "zhou", "liu"


async def office(h: Harness) -> None:
    """The demo departments' staff and a manager, reachable as chen, zhou and liu, reading English."""
    await add_staff(h, "陈主管", "supervisor", user=CHEN)
    await add_staff(h, "客服小周", "cs", user=ZHOU)
    await add_staff(h, "刘经理", "manager", user=LIU)


async def file_matter(
    h: Harness,
    user: str,
    words: str,
    *,
    kind: str = "Complaint",
    about: str = "No, not about a person",
    anonymous: bool = False,
) -> str:
    """A resident reports a matter from free words through the whole dialog; returns its number."""
    await h.say(user, words)
    await h.tap(user, kind)
    await h.tap(user, "Use what I wrote")
    await h.tap(user, "Yes, send it to")
    await h.tap(user, "Skip")
    if kind == "Complaint":
        await h.tap(user, about)
    await h.tap(user, "Stay anonymous" if anonymous else "Yes, show my name")
    replies = await h.tap(user, "Send it")
    filed = next(m.text for m in replies if m.chat_id == user and "Number: " in m.text)
    return filed.split("Number: ")[1].split()[0]


async def matter(h: Harness, number: str) -> Ticket:
    """The matter as stored."""
    async with h.db.transaction() as s:
        found = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        return found


async def events(h: Harness, number: str) -> list[str]:
    """The matter's event kinds, oldest first."""
    ticket = await matter(h, number)
    async with h.db.transaction() as s:
        stmt = select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        return list((await s.execute(stmt)).scalars())


async def pending(h: Harness, number: str) -> list[str]:
    """The matter's timers still waiting."""
    ticket = await matter(h, number)
    async with h.db.transaction() as s:
        stmt = select(Timer.kind).where(Timer.ticket_id == ticket.id, Timer.status == "pending")
        return sorted((await s.execute(stmt)).scalars())
