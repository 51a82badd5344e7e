"""Figure 5: one offer to 300 technicians' private chats with the fake server enforcing Telegram's limits."""

# The floor is the shipped ceiling: Telegram allows 30 messages in any second, the bot keeps to
# TELEGRAM_RATE_OVERALL (25: the rest is a margin for network jitter, so that no second at Telegram's end
# ever holds 31), so 300 messages take 12 s. Before the limits became ceilings the floor was Telegram's own
# 30/s (10 s), and the bot's burst on top of its rate drew 429s after a quiet spell.

from __future__ import annotations

import contextlib

from bench.bot import BotProcess, prepare
from bench.common import Backend, Row, Run
from bench.driver import intake, play
from bench.grab import NUMBER
from bench.server import ANY, BenchServer
from bot.settings import Settings

TELEGRAM_RATE = float(Settings.model_fields["telegram_rate_overall"].default)  # a second, all chats together


def size(run: Run) -> int:
    """Technicians offered the job."""
    return 30 if run.quick else 300


def spread(arrivals: list[float], confirm: float) -> list[str]:
    """Where the time went: the first offer's delay after the Confirm, then the pace of the rest."""
    if len(arrivals) < 2:
        return []
    first, last = min(arrivals), max(arrivals)
    pace = (len(arrivals) - 1) / (last - first) if last > first else float("inf")
    return [f"first offer {first - confirm:.2f} s after the Confirm; then {pace:.1f} messages/s"]


async def figure(run: Run, backend: Backend) -> list[Row]:
    """Seconds from the resident's Confirm reaching the bot to the last offer delivered, and 429s."""
    count = size(run)
    floor = count / TELEGRAM_RATE
    resident = 400_000
    async with backend.fresh("fanout") as url:
        techs = await prepare(url, count)
        async with BenchServer() as server, BotProcess(run, server, url, tag=f"fanout-{backend.name}") as bot:
            steps = intake()
            await play(server, resident, steps[:-1])  # the dialog itself is not under the limits
            server.rate_limit = True
            await play(server, resident, steps[-1:])
            confirm = max(server.served_at)  # the Confirm tap: the last update served
            number = next(
                found.group(0)
                for m in reversed(server.sent_to(resident))
                if (found := NUMBER.search(m.content))
            )

            def offered(t: int) -> bool:
                return any(number in m.content for m in server.sent_to(t))

            # Give up after 6x the floor: what arrived by then is reported.
            with contextlib.suppress(TimeoutError):
                await server.until(ANY, lambda: all(offered(t) for t in techs), timeout=max(30.0, 6 * floor))
            arrivals = [server.sent_at[t][0] for t in techs if offered(t)]
            stats = await bot.stats()
    seconds = max(arrivals) - server.served_at[confirm] if arrivals else float("inf")
    rows = [
        Row(
            f"5 fan-out: {count} offers delivered in",
            backend.name,
            f"{seconds:.1f} s",
            f"≤ {1.1 * floor:.1f} s (1.1 × {floor:.0f} s)",
            len(arrivals) == count and seconds <= 1.1 * floor,
            [
                f"{len(arrivals)}/{count} delivered; {seconds / floor:.2f} × the floor",
                *spread(arrivals, server.served_at[confirm]),
            ],
        ),
        Row(
            "5 fan-out: 429 Too Many Requests",
            backend.name,
            str(server.rate_limit_violations),
            "0",
            server.rate_limit_violations == 0,
        ),
    ]
    if len(arrivals) < count:
        rows.insert(
            1, Row("5 fan-out: offers never delivered", backend.name, str(count - len(arrivals)), "0", False)
        )
    if stats["errors"]:
        rows.append(
            Row("5 fan-out: errors logged by the bot", backend.name, str(stats["errors"]), "0", False)
        )
    return rows
