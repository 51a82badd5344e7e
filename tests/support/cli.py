"""Running the `baoxiu` command line as an operator does: a real subprocess on its own SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BAOXIU = [sys.executable, "-m", "bot"]


def run(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with its own SQLite file and media folder (the dashboard's web server off)."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "BAOXIU_MEDIA_DIR": str(tmp_path / "media"),
        "TELEGRAM_BOT_TOKEN": "",
        "BAOXIU_DASHBOARD": "false",
        **(env or {}),
    }
    return subprocess.run(
        [*BAOXIU, "--log-level", "WARNING", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
