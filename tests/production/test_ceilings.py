"""Telegram's flood limits hold as ceilings for the bot as a real process with the shipped limits: a fan-out
to 300 chats after a quiet spell (a burst is due, on top of nothing), the worker SIGKILLed half-way through it
and restarted on the backlog, against a fake Bot API that counts 30 a second and 20 a group minute over
sliding windows. Not one 429, and every message arrives in order per chat."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dispatch.clock import SystemClock
from handlers.messages import Outbound
from handlers.outbox import write_outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.fakes.telegram_objects import window_violations
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.botproc import BotProcess, bot_env, settle

FANOUT = [20000 + i for i in range(300)]  # technicians offered a job, say
BUSY = [30000 + i for i in range(10)]  # chats with a few messages each (order matters)
GROUPS = [-1009300 - i for i in range(3)]
PER_BUSY = 3


async def test_a_fan_out_after_a_quiet_spell_and_a_kill_never_exceeds_the_limits(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    await db.upgrade()
    async with FakeTelegramServer(rate_limit=True) as server:
        env = bot_env(server, db_url, tmp_path, BAOXIU_OUTBOX_LEASE="60")  # the shipped rate limits
        worker = BotProcess(env, tmp_path, tmp_path / "bot.log")
        worker.start()
        try:
            await worker.wait_healthy()
            messages = [Outbound("telegram", str(chat), f"offer to {chat}") for chat in FANOUT]
            messages += [
                Outbound("telegram", str(chat), f"{chat} #{i}")
                for i in range(PER_BUSY)
                for chat in BUSY + GROUPS
            ]
            async with db.transaction() as session:
                await write_outbox(session, messages, SystemClock().now())
            await server.wait_for(lambda: len(server.send_times) >= 120, timeout=60)
            worker.kill()  # mid-fan-out, leases and reserved slots and all
            worker.start()
            await settle(db, timeout=90, quiet=0.5)
        finally:
            code = worker.stop()
        assert code == 0, worker.tail()
        async with db.transaction() as s:
            statuses = (await s.execute(select(OutboxMessage.status))).scalars().all()
    await db.dispose()
    assert set(statuses) <= {"sent", "in_doubt"}, statuses
    assert server.rate_limit_violations == 0
    arrivals = [at for at, _ in server.send_times]
    assert window_violations(arrivals, 30, 1.0) == 0
    for group in GROUPS:
        assert window_violations([at for at, chat in server.send_times if chat == group], 20, 60.0) == 0
    for chat in FANOUT:
        assert {m.content for m in server.sent_to(chat)} == {f"offer to {chat}"}
    for chat in BUSY + GROUPS:
        got = [m.content for m in server.sent_to(chat)]
        first = [text for i, text in enumerate(got) if text not in got[:i]]
        assert first == [f"{chat} #{i}" for i in range(PER_BUSY)], (chat, got)
    # The burst after the quiet spell and the rate after it: the ceiling was used, not just kept.
    assert max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals) >= 15
