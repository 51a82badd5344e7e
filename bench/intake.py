"""Figure 1: residents doing the whole intake dialog at once, through real PTB, against the fake server."""

from __future__ import annotations

from collections import Counter

from bench.bot import BotProcess
from bench.common import Backend, Row, Run, collector, ms, pct
from bench.driver import closed_loop, echo, intake, open_loop, rooms
from bench.server import BenchServer

OPEN_RATE = 50.0  # updates/s offered in the open-loop run
RATIO_TARGET = {"postgresql": 0.5, "sqlite": 0.35}  # issue 22: SQLite's one writer costs more
_echo_rate: dict[bool, float] = {}  # the echo floor is the same for every backend: measured once a run
_echo_cost: dict[bool, str] = {}


def sizes(run: Run) -> tuple[int, float]:
    """Residents in the closed-loop burst, seconds of open-loop load."""
    return (6, 2.0) if run.quick else (200, 15.0)


async def echo_floor(run: Run) -> float:
    """Updates/s a bare PTB echo bot handles with the same residents and message count."""
    if run.quick in _echo_rate:
        return _echo_rate[run.quick]
    residents, _ = sizes(run)
    async with BenchServer() as server, BotProcess(run, server, "", mode="echo") as bot:
        await closed_loop(server, range(9000, 9002), lambda u: echo(3))  # warm-up
        before, calls = await bot.stats(), len(server.requests)
        updates, seconds = await closed_loop(server, range(10_000, 10_000 + residents), lambda u: echo())
        after, calls = await bot.stats(), len(server.requests) - calls
    _echo_rate[run.quick] = updates / seconds
    _echo_cost[run.quick] = (
        f"per update: {(after['cpu'] - before['cpu']) / updates * 1000:.1f} ms of bot CPU, "
        f"{calls / updates:.2f} Bot API calls (getUpdates included)"
    )
    return _echo_rate[run.quick]


async def figure(run: Run, backend: Backend) -> list[Row]:
    """Closed-loop burst (throughput, latency), then an open-loop run at 50 updates/s (p99)."""
    residents, seconds = sizes(run)
    room = rooms()
    async with (
        backend.fresh("intake") as url,
        BenchServer() as server,
        BotProcess(run, server, url, tag=f"intake-{backend.name}", limits=False) as bot,
    ):
        await closed_loop(server, range(1, 3), lambda u: intake(next(room)))  # warm-up, not counted
        server.reset_stats()
        before, first, served = await bot.stats(), len(server.requests), server.served
        updates, elapsed = await closed_loop(
            server, range(100_000, 100_000 + residents), lambda u: intake(next(room))
        )
        burst = list(server.latencies)
        after, calls = await bot.stats(), len(server.requests) - first
        methods = Counter(name for name, _ in server.requests[first:])
        served = server.served - served
        cost = {k: (after[k] - before[k]) / updates for k in ("cpu", "statements", "commits", "connects")}
        # The open loop measures 50 updates/s, not the burst's last replies: it starts once those are sent
        # (it used to start at once, and its first updates waited behind them: up to 0.4 s on SQLite).
        await server.quiet()
        server.reset_stats()
        pacer, _ = await open_loop(server, OPEN_RATE, seconds, 200_000, workers=residents)
        paced = list(server.latencies)
        stats = await bot.stats()
    ours = updates / elapsed
    floor = await echo_floor(run)
    offered = pacer.released / seconds
    rows = [
        Row(
            "1 intake: updates/s, closed loop",
            backend.name,
            f"{ours:.0f}/s",
            notes=[
                f"{residents} residents; per update: {cost['cpu'] * 1000:.1f} ms of bot CPU, "
                f"{cost['statements']:.1f} SQL statements in {cost['commits']:.1f} transactions, "
                f"{cost['connects']:.2f} database connections opened, "
                f"{calls / updates:.2f} Bot API calls (getUpdates included: "
                + ", ".join(f"{name} {count / updates:.2f}" for name, count in methods.most_common())
                + f"; each update returned {served / updates:.1f} times by getUpdates"
                "); Telegram's flood limits off in the bot, as the echo bot has none"
                " (figure 5 measures them)"
            ],
        ),
        Row(
            "1 intake: ours / echo floor",
            backend.name,
            f"{ours / floor:.2f}",
            f"≥ {RATIO_TARGET[backend.name]:.2f}",
            ours / floor >= RATIO_TARGET[backend.name],
        ),
        Row(
            "1 intake: latency burst p50/p95/p99",
            backend.name,
            f"{ms(pct(burst, 50))} / {ms(pct(burst, 95))} / {ms(pct(burst, 99))}",
        ),
        Row(
            f"1 intake: p99 at {OPEN_RATE:.0f} upd/s open loop",
            backend.name,
            ms(pct(paced, 99)),
            "< 50 ms",
            pct(paced, 99) < 0.050,
            [f"p50 {ms(pct(paced, 50))}, p95 {ms(pct(paced, 95))}, offered {offered:.1f}/s"],
        ),
    ]
    if pct(pacer.late, 99) > 0.05:
        late = ms(pct(pacer.late, 99))
        rows[-1].notes.append(
            f"overloaded: all {residents} residents were waiting for replies (p99 lag {late})"
        )
    rows[3].notes.append(collector(stats))  # its pauses show in this row's tail
    if stats["errors"]:
        rows.append(Row("1 intake: errors logged by the bot", backend.name, str(stats["errors"]), "0", False))
    return rows


async def floor_row(run: Run) -> Row:
    """The echo floor as its own line."""
    rate = await echo_floor(run)
    return Row(
        "1 intake: bare PTB echo floor, updates/s", "—", f"{rate:.0f}/s", notes=[_echo_cost[run.quick]]
    )
