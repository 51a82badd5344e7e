"""A single worker killed while it sends to a chat, and restarted: it takes back its own chats at once instead
of waiting out the lease its predecessor held (a minute by default), so the resident is answered within
seconds. A clean stop hands the chats back too."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxLane
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.botproc import BotProcess, Chats, bot_env

RESIDENT = 7600
LEASE = "60"


async def test_a_restarted_worker_answers_within_seconds(db_url: str, tmp_path: Path) -> None:
    async with FakeTelegramServer() as server:
        env = bot_env(server, db_url, tmp_path, BAOXIU_OUTBOX_LEASE=LEASE)
        worker = BotProcess(env, tmp_path, tmp_path / "bot.log")
        worker.start()
        chats = Chats(server, timeout=30)
        try:
            await worker.wait_healthy()
            await chats.say(RESIDENT, "/repair", expect="Where is the problem?")
            # The next answer hangs on Telegram's side; the worker dies while its lane's lease is fresh.
            server.latency = 3.0
            server.push_message(RESIDENT, "/help", language_code="en")
            await server.wait_for(lambda: server.in_flight > 0, timeout=20)
            worker.kill()
            server.latency = 0.0
            db = Database(db_url)
            async with db.transaction() as s:
                held = (await s.execute(select(OutboxLane).where(OutboxLane.lease_until.is_not(None)))).all()
            assert held, "the dead worker held no lease: the test proves nothing"
            worker.start()
            await worker.wait_healthy()
            loop = asyncio.get_running_loop()
            started = loop.time()
            server.push_message(RESIDENT, "/repair", language_code="en")  # mid-dialog: "continue?"
            await server.wait_for(
                lambda: any("in progress" in m.content for m in server.sent_to(RESIDENT)),
                timeout=30,
                message=lambda: str([m.content[:50] for m in server.sent_to(RESIDENT)]),
            )
            took = loop.time() - started
            assert took < 15, f"answered after {took:.1f}s: the lease ({LEASE}s) was waited out"
        finally:
            code = worker.stop()
        assert code == 0, worker.tail()
        # A clean stop leaves no lease behind for the next start to wait for.
        async with db.transaction() as s:
            held = (await s.execute(select(OutboxLane).where(OutboxLane.lease_until.is_not(None)))).all()
        assert held == []
        await db.dispose()
