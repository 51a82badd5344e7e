"""`baoxiu audit` as the office runs it: an export with contacts leaves a row per ticket, one without none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.cli import run

FILE_ONE = "\n".join(
    ["报修", "1", "1", "1", "1203", "13812345678", "厨房水管漏水了", "1", "1", "1", "1", "/quit"]
)


def test_exports_with_contacts_are_audited(tmp_path: Path) -> None:
    filed = run(tmp_path, "console", stdin=FILE_ONE)
    assert "BX-" in filed.stdout, filed.stdout[-1500:]
    number = json.loads(run(tmp_path, "tickets", "list", "--json").stdout)[0]["number"]
    day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    export = ["export", "tickets", "--from", day, "--to", day, "--format", "csv"]
    assert run(tmp_path, *export).returncode == 0
    assert json.loads(run(tmp_path, "audit", "--json").stdout) == []
    assert "Nobody was shown" in run(tmp_path, "audit").stdout

    assert run(tmp_path, *export, "--with-contacts").returncode == 0
    rows = json.loads(run(tmp_path, "audit", "--ticket", number, "--json").stdout)
    assert [(r["ticket"], r["viewer"], r["what"], r["fields"], r["via"]) for r in rows] == [
        (number, None, "export", ["phone", "room"], "cli")
    ]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()  # --since is a UTC day
    assert number in run(tmp_path, "audit", "--since", yesterday).stdout
    bad = run(tmp_path, "audit", "--since", "yesterday")
    assert bad.returncode == 2 and "not a date" in bad.stderr
    assert run(tmp_path, "audit", "--ticket", "BX-19990101-0001").returncode == 1
