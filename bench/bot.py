"""The bench side of a bot subprocess: start it against the fake server, ask it things, stop it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Protocol, Self

from bench.common import ROOT, Row, Run

START_TIMEOUT = 60.0
EXIT_TIMEOUT = 10.0


def _append(path: Path) -> BinaryIO:
    """The bot's log file, opened for appending (the child writes its stderr there)."""
    return open(path, "ab")


class FakeApi(Protocol):
    """The fake server a bot process talks to (Telegram's or WeChat's)."""

    def api_urls(self) -> tuple[str, str]:
        """The base URLs the bot is given: its API's and its files' (or "-")."""

    async def quiet(self) -> None:
        """Wait until the bot has sent nothing for a moment."""


class BotProcess:
    """`async with BotProcess(run, server, db_url) as bot:` runs python -m bench.botproc for the block."""

    problems: ClassVar[list[Row]] = []  # the bot misbehaving outside any figure (e.g. hanging on exit)

    def __init__(
        self,
        run: Run,
        server: FakeApi,
        db_url: str,
        mode: str = "ours",
        tag: str = "",
        limits: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.run, self.server, self.db_url, self.mode = run, server, db_url, mode
        self.limits = limits
        self.env = env or {}
        self.tag = tag or mode
        self.log = run.tmp / f"bot-{self.tag}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}

    async def __aenter__(self) -> Self:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        if not self.limits:  # measure the work per update, not Telegram's flood limits (figure 5 does that)
            env.update(TELEGRAM_RATE_OVERALL="0", TELEGRAM_RATE_CHAT="0", TELEGRAM_RATE_GROUP_PER_MINUTE="0")
        if self.run.profile_dir is not None:
            env["BENCH_PROFILE"] = str(self.run.profile_dir / f"{self.tag}.prof")
            env["BENCH_SQL_TALLY"] = str(self.run.profile_dir / f"{self.tag}.sql.json")
        media = self.run.tmp / f"media-{self.tag}"
        args = [self.mode, self.db_url, *self.server.api_urls(), str(media)]
        with _append(self.log) as log:
            # cwd is the run folder so a developer's .env never leaks into the measured bot.
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.botproc",
                *args,
                cwd=self.run.tmp,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        try:
            self.ready = await asyncio.wait_for(self._read(), START_TIMEOUT)
        except BaseException:
            await self._kill()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            await self._kill()
            return
        await self.server.quiet()  # stopping mid-delivery is its own test, not this one's
        bye = await self.ask({"cmd": "quit"}, timeout=60)
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            # Not the bench's crash but the bot's: it stopped everything and still would not exit.
            await self._kill()
            leftover = ", ".join(bye.get("leftover", [])) or "none reported"
            BotProcess.problems.append(
                Row(
                    "bot process exits after stop",
                    self.tag,
                    "hung, killed",
                    "exits",
                    False,
                    [f"{self.tag}: tasks left after stop: {leftover}; see {self.log}"],
                )
            )

    async def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def _read(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bot process exited; its log: {self.tail_log()}")
        result: dict[str, Any] = json.loads(line)
        return result

    async def ask(self, command: dict[str, Any], timeout: float = 600) -> dict[str, Any]:  # noqa: ASYNC109
        """Send one command and wait for its JSON answer."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self._read(), timeout)

    async def stats(self) -> dict[str, Any]:
        """RSS after a gc, peak RSS, and how many warnings and errors the bot logged."""
        return await self.ask({"cmd": "stats"})

    def tail_log(self, lines: int = 30) -> str:
        """The end of the bot's stderr."""
        text = Path(self.log).read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def prepare(db_url: str, technicians: int = 0, first_id: int = 800_000) -> list[int]:
    """Migrate a fresh database and register on-duty plumbers reachable on Telegram; their user ids."""
    from datetime import UTC, datetime

    from dispatch import staff
    from storage.db import Database

    db = Database(db_url)
    ids = list(range(first_id, first_id + technicians))
    try:
        await db.upgrade()
        async with db.transaction() as session:
            for user in ids:
                person = await staff.add(
                    session,
                    role=staff.Role.TECHNICIAN,
                    name=f"Tech{user}",
                    now=datetime.now(UTC),
                    skills=("plumbing_electric",),
                    telegram_id=str(user),
                    capacity=1000,
                )
                person.language = "en"
    finally:
        await db.dispose()
    return ids
