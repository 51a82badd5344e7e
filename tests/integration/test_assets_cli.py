"""`baoxiu assets list` as an operator runs it; a schedule the site file cannot read stops start-up."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from tests.support.cli import run


def _site(tmp_path: Path, schedule: str) -> Path:
    text = resources.files("dispatch.site").joinpath("demo_site.toml").read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text(text.replace('schedule = "monthly on the 5th"', f'schedule = "{schedule}"'), "utf-8")
    return path


def test_assets_list_shows_the_demo_assets(tmp_path: Path) -> None:
    result = run(tmp_path, "assets", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["code"] for r in rows] == ["lift-1-1", "fire-pump"]
    assert rows[0]["schedule"] == "monthly on the 5th" and len(rows[0]["checks"]) == 3
    assert rows[0]["next_due"].endswith("09:00:00+08:00") and rows[0]["next_due"][8:10] == "05"
    plain = run(tmp_path, "assets", "list", "--community", "demo")
    assert "demo/fire-pump" in plain.stdout and "every 3 months on 1 at 10:00" in plain.stdout
    assert run(tmp_path, "assets", "list", "--community", "nowhere").returncode == 2


def test_a_schedule_the_site_file_cannot_read_stops_start_up(tmp_path: Path) -> None:
    env = {"BAOXIU_SITE_FILE": str(_site(tmp_path, "every blue moon"))}
    for args in (("run",), ("assets", "list")):
        result = run(tmp_path, *args, env=env)
        assert result.returncode == 2, result.stdout
        assert 'asset "lift-1-1".schedule' in result.stderr and "every blue moon" in result.stderr
