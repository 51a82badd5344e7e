"""SQLite's writers in one process take turns, urgent ones first, and never wait for themselves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.writers import Writers


async def test_an_urgent_writer_goes_before_those_already_waiting() -> None:
    writers, order = Writers(), []
    assert await writers.acquire()

    async def write(name: str, urgent: bool) -> None:
        await writers.acquire(urgent=urgent)
        order.append(name)
        await asyncio.sleep(0)
        writers.release()

    tasks = [asyncio.create_task(write(f"work{i}", False)) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(write("answer", True)))
    await asyncio.sleep(0)
    writers.release()
    await asyncio.gather(*tasks)
    assert order == ["answer", "work0", "work1", "work2"]


async def test_a_writer_cancelled_while_waiting_does_not_keep_the_turn() -> None:
    writers = Writers()
    assert await writers.acquire()
    waiting = asyncio.create_task(writers.acquire())
    after = asyncio.create_task(writers.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    writers.release()
    assert await asyncio.wait_for(after, 1) is True


async def test_a_writer_cancelled_as_its_turn_is_given_stops_and_passes_the_turn_on() -> None:
    # A sender told to stop just as its turn came must stop (Python 3.11's wait_for dropped such a
    # cancellation, and the sender's loop then never ended).
    writers = Writers()
    assert await writers.acquire()
    given = asyncio.create_task(writers.acquire())
    after = asyncio.create_task(writers.acquire())
    await asyncio.sleep(0)
    writers.release()
    given.cancel()
    results = await asyncio.gather(given, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert await asyncio.wait_for(after, 1) is True


async def test_a_transaction_inside_another_and_a_burst_of_them_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.transaction() as outer:
            await outer.execute(text("CREATE TABLE t (n INTEGER)"))
        async with db.transaction() as outer:
            # Opened inside before the outer one wrote anything: it must not wait for its caller.
            async with db.transaction() as inner:
                await inner.execute(text("INSERT INTO t VALUES (1)"))
            await outer.execute(text("INSERT INTO t VALUES (2)"))

        async def add(n: int) -> None:
            async with db.transaction(urgent=n % 7 == 0) as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

        await asyncio.wait_for(asyncio.gather(*(add(n) for n in range(3, 60))), 30)
        async with db.transaction() as session:
            total = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert total == 59
    finally:
        await db.dispose()
