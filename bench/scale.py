"""Figure 9: what a second worker buys. The intake load of figure 1 in webhook mode, to one bot process and
then to two sharing one PostgreSQL database (PostgreSQL only: SQLite's writers are one process's).

Each configuration gets a fresh database and the same load: a warm-up, a closed-loop burst of residents
doing the whole intake dialog, then an open loop of residents at a fixed rate of updates. The bench plays
Telegram (bench/webhook.py): every update is POSTed to a worker's webhook, the worker chosen by update
number. Every update must get its reply; the inbox and the outbox must be empty at the end.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from bench.bot import BotProcess
from bench.common import Backend, Row, Run, load, ms, pct
from bench.driver import closed_loop, intake, open_loop, rooms
from bench.webhook import Post, WebhookServer
from bot.telegram.webhook import webhook_path
from storage.db import Database

OPEN_RATE = 30.0  # updates/s offered in the open-loop run, the same for one and two workers
TITLE = "9 workers"
FILED = "filed. Number: "  # the message that tells a resident their ticket's number


def sizes(run: Run) -> tuple[int, float, int]:
    """Residents in the closed-loop burst, seconds of open-loop load, residents taking its turns (few
    enough that each gets through whole dialogs, so every step of the intake is in the mix)."""
    return (4, 2.0, 10) if run.quick else (100, 10.0, 20)


@dataclass
class Outcome:
    """What one configuration did."""

    workers: int
    updates: int = 0
    seconds: float = 0.0
    burst: list[Post] = field(default_factory=list)
    paced: list[Post] = field(default_factory=list)
    offered: float = 0.0
    late: float = 0.0  # p99 of how long an open-loop permit waited for a ready resident
    cpu: float = 0.0  # bot CPU seconds in the burst, all workers
    bench_cpu: float = 0.0  # this process's CPU seconds in the burst (the fake Bot API, the load generator)
    busy: float = 0.0  # share of the machine's CPU time busy during the burst (everything on it)
    refused: int = 0
    lost: int = 0
    errors: int = 0
    told: list[int] = field(default_factory=list)  # the chat of every "filed. Number: ..." message
    leftover: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Updates/s in the closed-loop burst."""
        return self.updates / self.seconds

    def posts(self) -> list[Post]:
        """Every measured delivery."""
        return self.burst + self.paced


async def leftovers(url: str) -> dict[str, int]:
    """Tickets filed, inbox rows still there, outbox rows still pending."""
    queries = {
        "tickets": "SELECT count(*) FROM tickets",
        "inbox": "SELECT count(*) FROM inbox",
        "outbox": "SELECT count(*) FROM outbox WHERE status = 'pending'",
    }
    db = Database(url)
    try:
        async with db.transaction() as session:
            return {k: int((await session.execute(text(q))).scalar_one()) for k, q in queries.items()}
    finally:
        await db.dispose()


def own_cpu() -> float:
    """CPU seconds this process has used."""
    times = os.times()
    return times.user + times.system


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (clock ticks, all cores), from /proc/stat."""
    with open("/proc/stat", encoding="utf-8") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def busy_since(start: tuple[int, int]) -> float:
    """The share of the machine's CPU time that was busy since `start` (a cpu_times() reading)."""
    busy, total = cpu_times()
    return (busy - start[0]) / max(1, total - start[1])


async def measure(run: Run, backend: Backend, workers: int) -> Outcome:
    """Start `workers` bot processes on one fresh database and put the load through them."""
    from bench.botproc import WEBHOOK_URL

    residents, seconds, paced = sizes(run)
    out = Outcome(workers)
    room = rooms()
    async with (
        backend.fresh(f"scale{workers}") as url,
        WebhookServer() as server,
        contextlib.AsyncExitStack() as stack,
    ):
        bots: list[BotProcess] = []
        for i in range(1, workers + 1):  # one after the other: the first one migrates the database
            bot = BotProcess(
                run,
                server,
                url,
                mode="webhook",
                tag=f"scale-{workers}w-{i}",
                limits=False,
                env={"BAOXIU_WORKER_ID": f"bench-worker-{i}"},
            )
            bots.append(await stack.enter_async_context(bot))
        path = webhook_path(WEBHOOK_URL)
        server.targets = [f"http://127.0.0.1:{b.ready['port']}{path}" for b in bots]
        server.client = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        await closed_loop(server, range(1, 1 + 2 * workers), lambda u: intake(next(room)))  # warm-up
        await server.drain()
        mark = len(server.posts)
        before, ours, machine = [await b.stats() for b in bots], own_cpu(), cpu_times()
        out.updates, out.seconds = await closed_loop(
            server, range(100_000, 100_000 + residents), lambda u: intake(next(room))
        )
        await server.drain()
        out.bench_cpu, out.busy = own_cpu() - ours, busy_since(machine)
        after = [await b.stats() for b in bots]
        out.cpu = sum(a["cpu"] - b["cpu"] for a, b in zip(after, before, strict=True))
        out.burst = server.posts[mark:]
        mark = len(server.posts)
        pacer, _ = await open_loop(server, OPEN_RATE, seconds, 200_000, workers=paced)
        await server.drain()
        await server.quiet()
        out.paced = server.posts[mark:]
        out.offered, out.late = pacer.released / seconds, pct(pacer.late, 99)
        out.refused, out.lost = server.refused, server.lost
        out.errors = sum([(await b.stats())["errors"] for b in bots])
        out.told = [m.chat_id for m in server.messages.values() if FILED in m.content]
        out.leftover = await leftovers(url)
    return out


def timings(posts: list[Post]) -> tuple[list[float], list[float]]:
    """Answer times (POST to 200) and reply times (POST to the first message back) of these deliveries."""
    answers = [p.answered - p.posted for p in posts if p.answered is not None]
    replies = [p.replied - p.posted for p in posts if p.replied is not None]
    return answers, replies


def latency_rows(o: Outcome, backend: str) -> list[Row]:
    """Answer and reply p99 of one configuration, burst and open loop."""
    who = f"{o.workers} worker" + ("s" if o.workers > 1 else "")
    rows = []
    for label, posts in (("closed loop", o.burst), (f"{OPEN_RATE:.0f} upd/s open loop", o.paced)):
        answers, replies = timings(posts)
        note = f"p50: answer {ms(pct(answers, 50))}, reply {ms(pct(replies, 50))}"
        if posts is o.paced:
            note += f"; offered {o.offered:.1f}/s"
            if o.late > 0.05:
                note += f"; overloaded: every resident was waiting for a reply (pacing lag p99 {ms(o.late)})"
        rows.append(
            Row(
                f"{TITLE}: {who}, answer / reply p99, {label}",
                backend,
                f"{ms(pct(answers, 99))} / {ms(pct(replies, 99))}",
                "informative",
                notes=[note],
            )
        )
    return rows


def delivered_row(outcomes: list[Outcome], backend: str) -> Row:
    """Every update answered 200 and replied to; nothing left in the inbox or the outbox."""
    parts, notes, ok = [], [], True
    for o in outcomes:
        posts = o.posts()
        replied = sum(p.replied is not None for p in posts)
        parts.append(f"{replied}/{len(posts)}")
        once = len(o.told) == len(set(o.told)) == o.leftover["tickets"]
        clean = o.lost == 0 and not o.leftover["inbox"] and not o.leftover["outbox"] and not o.errors
        ok = ok and replied == len(posts) and once and clean
        notes.append(
            f"{o.workers} worker(s): {o.leftover['tickets']} tickets in the database, {len(o.told)} "
            f"residents told their number ({len(set(o.told))} different); {o.refused} POSTs refused "
            f"(POSTed again), {o.lost} updates lost; left at the end: {o.leftover['inbox']} inbox rows, "
            f"{o.leftover['outbox']} pending outbox rows; {o.errors} errors logged by the bots"
        )
    value = ", ".join(f"{p} ({o.workers}w)" for p, o in zip(parts, outcomes, strict=True))
    return Row(f"{TITLE}: replies delivered", backend, value, "all", ok, notes)


async def figure(run: Run, backend: Backend) -> list[Row]:
    """One worker, then two, on the same load; throughput, its ratio, latencies, deliveries."""
    if backend.name != "postgresql":
        return [Row(TITLE, backend.name, "PostgreSQL only", notes=["workers share a PostgreSQL server"])]
    one = await measure(run, backend, 1)
    two = await measure(run, backend, 2)
    residents, _, _ = sizes(run)
    rows = [
        Row(
            f"{TITLE}: updates/s closed loop, {o.workers} worker" + ("s" if o.workers > 1 else ""),
            backend.name,
            f"{o.rate:.0f}/s",
            "informative",
            notes=[
                f"{residents} residents, {o.updates} updates in {o.seconds:.1f} s; per update: "
                f"{o.cpu / o.updates * 1000:.1f} ms of bot CPU (all workers), "
                f"{o.bench_cpu / o.updates * 1000:.1f} ms of the bench's (fake Bot API, load generator); "
                f"the machine's CPU was {o.busy:.0%} busy"
            ],
        )
        for o in (one, two)
    ]
    rows.append(
        Row(
            f"{TITLE}: updates/s 2 workers / 1 worker",
            backend.name,
            f"{two.rate / one.rate:.2f}",
            "informative",
            notes=[
                f"the machine's CPU was {one.busy:.0%} / {two.busy:.0%} busy in the bursts: a second worker "
                f"only helps when there is CPU to spare; the bench, PostgreSQL and the workers share "
                f"{os.cpu_count()} cores (load average at the end: {load()})"
            ],
        )
    )
    rows += latency_rows(one, backend.name) + latency_rows(two, backend.name)
    rows.append(delivered_row([one, two], backend.name))
    return rows
