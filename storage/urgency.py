"""Work a platform waits on goes first: while a webhook or callback is being stored, other work waits.

An event is answered once its raw row is committed (bot/inbox.py). Under a burst, that one statement waits
for the event loop: every turn of the loop also runs the work already under way, handling earlier events and
sending replies, and on PostgreSQL each statement's round trip costs a turn or two. So while any store is in
progress, a transaction that is not urgent waits before it begins (work already inside a transaction goes
on: it may hold what the store needs), and the loop's turns go to the requests being answered. It waits at
most YIELD_AT_MOST, so a steady stream of requests slows the work behind them but cannot stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

YIELD_AT_MOST = 0.1  # seconds a transaction waits for the stores in progress


class Urgency:
    """Counts the stores in progress; lets other work wait for them."""

    def __init__(self) -> None:
        self._pending = 0
        # Futures of the running loop, made when waited on (a Database may serve more than one loop).
        self._waiters: list[asyncio.Future[None]] = []

    @contextlib.contextmanager
    def pending(self) -> Iterator[None]:
        """Mark a store in progress for the duration."""
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1
            if not self._pending:
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def wait(self) -> None:
        """Return once no store is in progress, or after YIELD_AT_MOST."""
        if not self._pending:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(YIELD_AT_MOST):
                await waiter
        except TimeoutError:
            if waiter in self._waiters:  # not when the stores ended as the time ran out
                self._waiters.remove(waiter)
