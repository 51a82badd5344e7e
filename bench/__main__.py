"""`python -m bench [--quick] [--only 1,3] [--backend sqlite]`: run the figures and print the table."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import fanout, grab, intake, lookups, memory, reports, scale, timers, wechat
from bench.bot import BotProcess
from bench.common import ADMIN_DSN, Backend, Row, Run, load, machine, postgres_version, run_folder

Figure = Callable[[Run, Backend], Awaitable[list[Row]]]
FIGURES: dict[str, tuple[str, Figure]] = {
    "1": ("intake", intake.figure),
    "2": ("grab storm", grab.figure),
    "3": ("timers at scale", timers.figure),
    "4": ("lookups", lookups.figure),
    "5": ("fan-out", fanout.figure),
    "6": ("memory", memory.figure),
    "7": ("WeChat callbacks", wechat.figure),
    "8": ("reports", reports.figure),
    "9": ("workers", scale.figure),
}


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    head = ("figure", "backend", "value", "target", "result")
    lines = [[r.figure, r.backend, r.value, r.target, r.verdict] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells: tuple[str, ...] | list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines]
    notes = [f"- {r.figure} ({r.backend}): {n}" for r in rows for n in r.notes]
    return "\n".join(out + (["", *notes] if notes else []))


async def main(run: Run, args: argparse.Namespace) -> int:
    """Run the chosen figures on every reachable backend; 1 when something crashed, else 0."""
    started = time.perf_counter()
    tmp = run.tmp
    print("# Baoxiu benchmarks" + (" (quick: small sizes, no verdicts that matter)" if args.quick else ""))
    for line in machine():
        print(line)
    pg = await postgres_version()
    names = [b for b in ("sqlite", "postgresql") if args.backend in (None, b)]
    if "postgresql" in names and pg is None:
        print(f"PostgreSQL: not reachable at {ADMIN_DSN}; its figures are skipped")
        names.remove("postgresql")
    elif pg is not None:
        print(f"PostgreSQL {pg} at {ADMIN_DSN}")
    print(flush=True)
    rows: list[Row] = []
    crashed = False
    chosen = args.only.split(",") if args.only else list(FIGURES)
    for number in chosen:
        title, figure = FIGURES[number]
        for name in names:
            t0 = time.perf_counter()
            try:
                got = await figure(run, Backend(name, tmp))
            except Exception:
                crashed = True
                traceback.print_exc()
                got = [Row(f"{number} {title}", name, "CRASHED", "", False)]
            rows += got
            print(f"## figure {number} {title} on {name}: {time.perf_counter() - t0:.0f} s", flush=True)
            print(table(got) + "\n", flush=True)
        if number == "1" and "echo" not in {r.backend for r in rows}:
            rows.append(await intake.floor_row(run))
        if number == "2":
            rows.append(await grab.floor_row(run))
    rows += BotProcess.problems
    print(f"# All figures ({time.perf_counter() - started:.0f} s; load average at the end: {load()})\n")
    print(table(rows))
    if crashed or BotProcess.problems:
        print(f"\nlogs of the bot processes are kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if crashed else 0


def cli() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, about two minutes")
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,3")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], help="one backend only")
    parser.add_argument("--profile", help="folder for cProfile dumps of the bot processes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    profile = Path(args.profile).resolve() if args.profile else None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(main(Run(quick=args.quick, tmp=run_folder(), profile_dir=profile), args)))


if __name__ == "__main__":
    cli()
