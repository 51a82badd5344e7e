"""Residents of building 2 reporting the same outage, step by step, so tests can interleave them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from storage.models import Offer, Ticket
from tests.support.harness import Harness
from tests.support.media import jpeg

OUTAGE = "停水了，家里一点水都没有"
# Every flat of building 2: unit 1 has two flats a floor, unit 2 three, over 11 floors.
FLATS = [(u, f"{f}{r:02d}") for u, per in ((1, 2), (2, 3)) for f in range(1, 12) for r in range(1, per + 1)]

Step = Callable[[], Awaitable[object]]


def outage_steps(h: Harness, user: str, unit: int, room: str) -> list[Step]:
    """The intake of one resident of building 2 reporting no water, up to the summary, one step each."""

    async def past_tip() -> None:
        if "I still need a repair" in h.last(user).labels():
            await h.tap(user, "I still need a repair")

    return [
        lambda: h.say(user, "报修"),
        lambda: h.tap(user, "My home"),
        lambda: h.tap(user, "Building 2"),
        lambda: h.tap(user, f"Unit {unit}"),
        lambda: h.say(user, room),
        lambda: h.say(user, "139" + room.zfill(8)),
        lambda: h.say(user, OUTAGE),
        past_tip,
        lambda: h.tap(user, "Yes"),
    ]


async def finish_own(h: Harness, user: str) -> None:
    """From the photo step: no photo, as soon as possible, confirm."""
    await h.tap(user, "Skip")
    await h.tap(user, "As soon")
    await h.tap(user, "Confirm")


async def tickets(h: Harness) -> list[Ticket]:
    """Every ticket, oldest first."""
    async with h.db.transaction() as s:
        return list((await s.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def offers(h: Harness) -> list[Offer]:
    """Every offer copy sent."""
    async with h.db.transaction() as s:
        return list((await s.execute(select(Offer).order_by(Offer.id))).scalars())


async def complete_job(h: Harness, tech: str) -> None:
    """The technician's Complete: one after-photo, no materials, 30 minutes, no charge."""
    await h.tap(tech, "Complete")
    await h.photo(tech, jpeg())
    await h.tap(tech, "Done")
    await h.tap(tech, "None")
    await h.tap(tech, "No, none")
    await h.tap(tech, "30 min")
    await h.tap(tech, "No charge")
