"""Shared helpers: result rows, the machine description, percentiles, the database backends."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
# The instant every generated history ends at: 09:00 in Shanghai, office hours.
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ADMIN_DSN = os.environ.get(
    "BAOXIU_BENCH_POSTGRES",
    os.environ.get("BAOXIU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
)


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    backend: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: information only, no target
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """pass, miss, or blank for information."""
        return "" if self.ok is None else ("pass" if self.ok else "MISS")


@dataclass
class Run:
    """What a figure needs to know about this run."""

    quick: bool
    tmp: Path
    profile_dir: Path | None = None


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for the table."""
    return f"{seconds * 1000:.1f} ms"


def collector(stats: dict[str, Any]) -> str:
    """The garbage collector's full passes in a bot's run (each stops its event loop) and the longest."""
    return f"collector: {stats['full_passes']} full passes, the longest {ms(stats['longest_pause'])}"


def median(values: Sequence[float]) -> float:
    """The median (NaN for none)."""
    return statistics.median(values) if values else float("nan")


class Timer:
    """A perf_counter stopwatch: `with Timer() as t: ...; t.seconds`."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def machine() -> list[str]:
    """Lines describing the machine and the software versions, for the header."""
    import sqlalchemy
    import telegram

    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    osname = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = f"{line.split('=', 1)[1].strip(chr(34))}, kernel {platform.release()}"
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code: {code_version()}",
        f"CPU: {cpu}, {os.cpu_count()} cores; RAM {mem_kb / 1024 / 1024:.1f} GiB",
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"python-telegram-bot {telegram.__version__}",
        f"OS: {osname}",
        f"load average at start: {load()} (other work on the machine slows every figure)",
    ]


def load() -> str:
    """The 1-minute load average against the core count."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def code_version() -> str:
    """Which code is measured: BENCH_CODE if set, else the git commit and whether the tree is dirty."""
    if os.environ.get("BENCH_CODE"):
        return os.environ["BENCH_CODE"]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "handlers", "dispatch", "storage"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = len(dirty.splitlines())
    return f"commit {sha}" + (f" + uncommitted changes in {changed} files" if changed else "")


# ----- backends --------------------------------------------------------------------------------------


async def postgres_version() -> str | None:
    """The server's version string, or None when PostgreSQL is not reachable."""
    try:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def admin(sql: str) -> None:
    """Run one statement on the PostgreSQL admin database."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_exists(name: str) -> bool:
    """Whether a PostgreSQL database of this name exists."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def pg_databases(prefix: str) -> list[str]:
    """Names of PostgreSQL databases starting with `prefix`."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
        return [str(r[0]) for r in rows]
    finally:
        await conn.close()


def pg_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    """A URL for a database on the admin server."""
    base = ADMIN_DSN.rsplit("/", 1)[0].split("://", 1)[1]
    return f"{driver}://{base}/{name}"


@dataclass(frozen=True)
class Backend:
    """SQLite (a file in the run's folder) or PostgreSQL (a throwaway database)."""

    name: str
    tmp: Path

    @asynccontextmanager
    async def fresh(self, label: str, template: str | None = None) -> AsyncIterator[str]:
        """A new empty database (or a copy of a cached one) for one figure; removed afterwards."""
        tag = f"{label}_{uuid.uuid4().hex[:8]}"
        if self.name == "sqlite":
            path = self.tmp / f"{tag}.db"
            if template:
                await asyncio.to_thread(shutil.copyfile, template, path)
            try:
                yield f"sqlite+aiosqlite:///{path}"
            finally:
                remove_sqlite(path)
            return
        name = f"baoxiu_bench_{tag}"
        await admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        try:
            yield pg_url(name)
        finally:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database with its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_folder() -> Path:
    """A temporary folder for one run (databases, media, the bot's logs)."""
    return Path(tempfile.mkdtemp(prefix="baoxiu-bench-"))
