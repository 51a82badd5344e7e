"""Group commit: what is submitted while one batch is being written goes together in the next.

In a burst, a hundred callbacks each committing their own one-row INSERT take a hundred turns at the
database (on SQLite, a hundred fsyncs one after the other). Gathered, they take a few: the first goes at once
and alone, as before, and those that came while it was written go in one transaction after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Items in one batch at most, so one transaction stays short. Keep it under SQLAlchemy's 1,000 rows per
# INSERT: the inbox stores a batch by one INSERT that stands alone (Database.one_statement), atomic only
# while it is one statement.
LIMIT = 500


class Batcher(Generic[T, R]):
    """Writes submitted items in batches with `flush` (one result per item, in order), one batch at a time."""

    def __init__(
        self, flush: Callable[[list[T]], Awaitable[list[R]]], *, limit: int = LIMIT, linger: float = 0.0
    ) -> None:
        """`linger`: seconds a batch waits for more items before it is written (writes nobody waits on)."""
        if limit < 1:
            raise ValueError("a batch holds at least one item")
        self._flush = flush
        self._limit = limit
        self._linger = linger
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue the item; the future has its result once its batch is written (or the batch's error)."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
            self._runner.add_done_callback(self._stopped)
        return done

    async def drain(self) -> None:
        """Wait until everything submitted so far is written."""
        while self._runner is not None and not self._runner.done():
            await asyncio.shield(self._runner)

    def _stopped(self, runner: asyncio.Task[None]) -> None:
        """A runner cancelled (even before it began, or while it lingered) gives up what it had not written:
        its items' futures are cancelled, not left to hang."""
        if runner.cancelled() and runner is self._runner:
            for _, done in self._pending:
                done.cancel()
            self._pending = []

    async def _run(self) -> None:
        while self._pending:
            if self._linger:
                await asyncio.sleep(self._linger)  # a stop meanwhile: see _stopped
            batch, self._pending = self._pending[: self._limit], self._pending[self._limit :]
            try:
                results = await self._flush([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, done in batch + self._pending:
                    done.cancel()
                self._pending = []
                raise
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)
