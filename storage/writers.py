"""SQLite's writers in one process taken in turn, urgent ones first.

Every SQLite transaction here takes the write lock up front (BEGIN IMMEDIATE). Left to SQLite, writers that
find it taken sleep and try again (its busy handler sleeps up to 100 ms a try), so under load a transaction
may wait seconds while others come and go, and a webhook's one INSERT waits behind a burst's work. Taking
turns in the process first leaves SQLite's lock to other processes only, and lets the inbox's INSERT (the
answer a platform is waiting for) go ahead of everything else.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging

log = logging.getLogger(__name__)
# A turn not given within this long is taken anyway (SQLite's own lock still keeps writers apart): a
# transaction opened inside another of the same task would otherwise wait for itself for ever.
PATIENCE = 30.0


class Writers:
    """One writer at a time in this process; an urgent one goes before those waiting."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[bool]]] = []
        self._order = itertools.count()

    async def acquire(self, *, urgent: bool = False) -> bool:
        """Wait for this writer's turn; False when it gave up waiting (nothing to release then)."""
        if not self._busy and not self._waiting:
            self._busy = True
            return True
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[bool] = loop.create_future()
        heapq.heappush(self._waiting, (0 if urgent else 1, next(self._order), turn))
        # Not asyncio.wait_for: before Python 3.12 it drops a cancellation that comes as the turn is given,
        # and a sender told to stop would then go on for ever.
        patience = loop.call_later(PATIENCE, _give_up, turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self.release()  # given the turn as we were cancelled: pass it on
            raise
        finally:
            patience.cancel()

    def release(self) -> None:
        """End this writer's turn: the next waiting one (urgent first) goes."""
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(True)
                return
        self._busy = False


def _give_up(turn: asyncio.Future[bool]) -> None:
    """The turn was not given within PATIENCE: go ahead without one (it stays queued but done)."""
    if not turn.done():
        log.warning("waited %.0f s for a database turn; going ahead without one", PATIENCE)
        turn.set_result(False)
