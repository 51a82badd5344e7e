"""Group commit: what comes while a batch is written goes in the next; results per item, errors per batch."""

from __future__ import annotations

import asyncio

import pytest

from bot.batching import Batcher


async def test_items_that_come_while_a_batch_is_written_go_together_in_the_next() -> None:
    batches: list[list[int]] = []
    writing = asyncio.Event()

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await writing.wait()
        return [n * 10 for n in items]

    batcher: Batcher[int, int] = Batcher(flush)
    first = batcher.submit(1)
    await asyncio.sleep(0)  # the first batch is being written, alone
    rest = [batcher.submit(n) for n in range(2, 40)]
    writing.set()
    assert await first == 10 and await asyncio.gather(*rest) == [n * 10 for n in range(2, 40)]
    assert batches == [[1], list(range(2, 40))]


async def test_a_failed_batch_fails_its_own_items_only() -> None:
    async def flush(items: list[str]) -> list[str]:
        await asyncio.sleep(0)
        if "bad" in items:
            raise RuntimeError("database went away")
        return items

    batcher: Batcher[str, str] = Batcher(flush, limit=2)
    futures = [batcher.submit(x) for x in ("a", "bad", "c", "d")]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and isinstance(results[1], RuntimeError)
    assert results[2:] == ["c", "d"]
    await batcher.drain()


async def test_drain_waits_for_everything_submitted() -> None:
    written: list[int] = []

    async def flush(items: list[int]) -> list[None]:
        await asyncio.sleep(0.01)
        written.extend(items)
        return [None] * len(items)

    batcher: Batcher[int, None] = Batcher(flush)
    for n in range(5):
        batcher.submit(n)
    await batcher.drain()
    assert written == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        Batcher(flush, limit=0)


async def test_a_lingering_batcher_gathers_what_comes_within_its_linger() -> None:
    """Deletes nobody waits for: items submitted one after another within the linger make one batch."""
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[None]:
        batches.append(items)
        return [None] * len(items)

    batcher: Batcher[int, None] = Batcher(flush, linger=0.2)
    for n in range(5):
        batcher.submit(n)
        await asyncio.sleep(0.001)  # each would go alone without the linger
    await batcher.drain()
    assert batches == [[0, 1, 2, 3, 4]]
    for cancel_after in (0.05, 0.0):  # a stop while it lingers, or before its runner began
        waiting = [batcher.submit(5), batcher.submit(6)]
        runner = batcher._runner
        assert runner is not None
        await asyncio.sleep(cancel_after)
        runner.cancel()
        for item in waiting:  # given up, not left hanging
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(item, 1.0)
    assert batches == [[0, 1, 2, 3, 4]]
