"""How many of the inbox's events are handled at once, and an event waiting on the network stepping aside.

The handlers share one CPU and a few database connections: more of them at once only interleave, so every
answer and reply of a burst comes later. But an event waiting for a photo's download uses neither, so it
gives its slot to another event meanwhile and takes one back after (`waiting_on_the_network`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar


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
