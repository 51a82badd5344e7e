"""`baoxiu export tickets` as an operator runs it: CSV and XLSX read back, contacts only when asked for,
bad date ranges refused with the reason."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from tests.support.cli import run

FILE_ONE = "\n".join(
    ["报修", "1", "1", "1", "1203", "13812345678", "厨房水管漏水了", "1", "1", "1", "1", "1", "/quit"]
)


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_a_month_as_csv_and_as_xlsx_with_contacts(tmp_path: Path) -> None:
    filed = run(tmp_path, "console", stdin=FILE_ONE)
    assert "BX-" in filed.stdout, filed.stdout[-1500:]
    day = today()
    result = run(tmp_path, "export", "tickets", "--from", day, "--to", day, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert rows[0][:3] == ["单号", "小区", "报修时间"]  # headers in the default language
    assert len(rows) == 2 and rows[1][0].startswith("BX-") and "13812345678" not in result.stdout
    out = tmp_path / "month.xlsx"
    result = run(
        tmp_path,
        "export",
        "tickets",
        "--from",
        day,
        "--to",
        day,
        "--community",
        "demo",
        "--format",
        "xlsx",
        "--with-contacts",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "1 tickets written" in result.stderr
    sheet = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    header, row = sheet[0], sheet[1]
    assert row[header.index("联系电话")] == "13812345678" and row[header.index("房号")] == "1203"
    assert row[header.index("报修类别")] == "水电"


def test_bad_ranges_are_refused_with_the_reason(tmp_path: Path) -> None:
    now = datetime.now(UTC).date()
    later = (now + timedelta(days=40)).isoformat()
    cases = [
        (["--from", later, "--to", later], "has not begun yet"),
        (["--from", "2024-01-01", "--to", "2025-06-30"], "longer than a year"),
        (["--from", "2026-11-20", "--to", "2026-11-01"], "ends before it starts"),
        (["--from", "20261101", "--to", "x"], "I don't know the period"),
        (["--from", "2026-11-01", "--to", "2026-11-02", "--community", "nowhere"], "no community 'nowhere'"),
    ]
    for flags, reason in cases:
        result = run(tmp_path, "export", "tickets", *flags, env={"BAOXIU_LANGUAGE": "en"})
        assert result.returncode == 2, (flags, result.stdout, result.stderr)
        assert reason in result.stderr, (flags, result.stderr)
