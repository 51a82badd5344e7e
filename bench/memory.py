"""Figure 6: RSS of one bot process holding 10,000 residents in the middle of the intake dialog."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.bot import BotProcess
from bench.common import Backend, Row, Run
from bench.driver import closed_loop, intake
from bench.server import BenchServer
from storage.db import Database
from storage.models import Conversation

MB = 1024 * 1024
STEPS = 3  # through the fake server: /repair, My home, Building 1, then the dialog waits at "which unit?"
# Through the router: /repair, My home; then the dialog waits at "which building?" (quick: /repair only).
BULK_STEPS = 2


def sizes(run: Run) -> tuple[int, int]:
    """Residents in all, and how many of them go through the fake server (the rest through the router)."""
    return (1_000, 20) if run.quick else (10_000, 200)


async def figure(run: Run, backend: Backend) -> list[Row]:
    """Residents mid-dialog through both paths, the outbox drained, then RSS after a gc."""
    total, through_server = sizes(run)
    bulk = total - through_server
    async with (
        backend.fresh("memory") as url,
        BenchServer() as server,
        BotProcess(run, server, url, tag=f"memory-{backend.name}") as bot,
    ):
        await closed_loop(server, range(1, 3), lambda u: intake())  # warm-up: every code path imported
        base = await bot.stats()
        await closed_loop(server, range(600_000, 600_000 + through_server), lambda u: intake()[:STEPS])
        # The bulk goes through the router on a channel whose delivery is instant (no HTTP): the sender
        # still claims and marks every reply, so only PTB's per-message cost is left out.
        steps = 1 if run.quick else BULK_STEPS
        feed = {"cmd": "feed", "first": 700_000, "count": bulk, "concurrency": 16, "steps": steps}
        fed = await bot.ask({**feed, "channel": "bench"})
        after = await bot.stats()
        mid_dialog = await count_mid_dialog(url)
    rss = after["rss"] / MB
    per_k = (after["rss"] - base["rss"]) / MB / (total / 1000)
    notes = [
        f"baseline {base['rss'] / MB:.0f} MB after start-up, peak {after['hwm'] / MB:.0f} MB, "
        f"+{per_k:.1f} MB per 1,000 residents",
        f"{through_server} residents × {STEPS} steps through the fake server, {bulk:,} × {steps} "
        f"through the router at {bulk * steps / fed['seconds']:.0f} events/s",
    ]
    notes.append(f"{mid_dialog:,} conversations mid-intake in the database")
    rows = [
        Row(
            f"6 memory: RSS with {total:,} residents mid-dialog",
            backend.name,
            f"{rss:.0f} MB",
            "< 150 MB",
            rss < 150,
            notes,
        )
    ]
    if after["errors"]:
        rows.append(Row("6 memory: errors logged by the bot", backend.name, str(after["errors"]), "0", False))
    return rows


async def count_mid_dialog(url: str) -> int:
    """Conversations whose dialog is intake (the state that must live in the database, not in RSS)."""
    db = Database(url)
    try:
        async with db.transaction() as s:
            stmt = select(func.count()).where(Conversation.dialog == "intake")
            return int((await s.execute(stmt)).scalar_one())
    finally:
        await db.dispose()
