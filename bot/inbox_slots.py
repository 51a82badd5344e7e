"""How many of the inbox's events are handled at once, and an event waiting on the network stepping aside.

A few at once (`by_backend`): more of them only interleave on the one CPU, so every answer and reply of a
burst comes later. But an event waiting for a photo's download uses neither the CPU nor the database, so
it gives its slot to another event meanwhile and takes one back after (`waiting_on_the_network`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar


def by_backend(is_sqlite: bool) -> int:
    """How many events to handle at once when the settings don't say (measured with bench figures 1, 2, 7).

    PostgreSQL: 4. Its round trips leave the CPU to other handlers, so more at once only interleave: with 8,
    a burst's answers came later (WeChat's answer p99 76-94 ms against 42-60 ms with 4). SQLite: 8. Its
    statements run in the bot's thread and its transactions take turns at one lock, and with 4 a burst
    went through about 5 % more slowly (callbacks and updates a second)."""
    return 8 if is_sqlite else 4


class _Slot:
    """The slot one event's handling holds (or has handed on while it waits on the network)."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self.semaphore = semaphore
        self.held = False


_SLOT: ContextVar[_Slot | None] = ContextVar("inbox_slot", default=None)


class Slots:
    """So many events handled at once."""

    def __init__(self, count: int) -> None:
        self._semaphore = asyncio.Semaphore(count)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Handle one event in a slot (waiting for one first)."""
        slot = _Slot(self._semaphore)
        token = _SLOT.set(slot)
        try:
            await self._semaphore.acquire()
            slot.held = True
            yield
        finally:
            _SLOT.reset(token)
            if slot.held:
                self._semaphore.release()


@contextlib.asynccontextmanager
async def waiting_on_the_network() -> AsyncIterator[None]:
    """Inside an event's handling: its slot goes to another event while this one waits on the network (a
    photo's download), and is taken back after; elsewhere, nothing."""
    slot = _SLOT.get()
    if slot is None or not slot.held:
        yield
        return
    slot.held = False
    slot.semaphore.release()
    try:
        yield
    finally:
        await slot.semaphore.acquire()  # if cancelled here, not held: the handling's end releases nothing
        slot.held = True
