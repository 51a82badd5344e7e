"""The `baoxiu` command line as an operator runs it: a real subprocess on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.media import jpeg

BAOXIU = [sys.executable, "-m", "bot"]


def run(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with its own SQLite file and media folder."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "BAOXIU_MEDIA_DIR": str(tmp_path / "media"),
        "TELEGRAM_BOT_TOKEN": "",
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


def test_console_session_files_a_ticket_and_cli_shows_it(tmp_path: Path) -> None:
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(jpeg(exif=True))
    script = "\n".join(
        [
            "报修",
            "1",
            "1",
            "1",
            "1203",
            "13812345678",
            "卫生间马桶堵了，水下不去",
            "2",  # the blocked-drain self-check tip comes first: "I still need a repair"
            "1",  # the suggested category and urgency are right
            f"/photo {photo}",
            "1",
            "1",
            "1",
            "/quit",
        ]
    )
    result = run(tmp_path, "console", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "BX-" in result.stdout, result.stdout[-2000:]
    listing = run(tmp_path, "tickets", "list", "--json")
    rows = json.loads(listing.stdout)
    assert len(rows) == 1 and rows[0]["status"] in ("offered", "submitted")
    shown = json.loads(run(tmp_path, "tickets", "show", rows[0]["number"], "--json").stdout)
    assert shown["address"]["room"] == "1203" and shown["phone"] == "13812345678"
    assert shown["events"][0]["kind"] == "submitted"
    assert len(shown["photos"]) == 1
    # Demo staff were added, so the offer reached the demo technicians in the console.
    assert "张师傅" in result.stdout


def test_run_without_token_says_so_and_starts_the_console(tmp_path: Path) -> None:
    result = run(tmp_path, "run", stdin="/help\n")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "No TELEGRAM_BOT_TOKEN" in first and ".env" in first
    assert "/repair" in result.stdout


def test_staff_registry_and_invites(tmp_path: Path) -> None:
    assert (
        run(
            tmp_path,
            "staff",
            "add",
            "--role",
            "technician",
            "--name",
            "张师傅",
            "--skills",
            "plumbing_electric,hvac",
            "--areas",
            "north",
            "--telegram-id",
            "12345",
            "--capacity",
            "5",
        ).returncode
        == 0
    )
    assert run(tmp_path, "staff", "add", "--role", "supervisor", "--name", "陈主管").returncode == 0
    again = run(tmp_path, "staff", "add", "--role", "technician", "--name", "张师傅")
    assert again.returncode == 1 and "already" in again.stdout
    bad = run(tmp_path, "staff", "add", "--role", "plumber", "--name", "X")
    assert bad.returncode == 1 and "unknown role" in bad.stdout
    assert run(tmp_path, "staff", "set", "张师傅", "--off-duty").returncode == 0
    rows = json.loads(run(tmp_path, "staff", "list", "--json").stdout)
    zhang = next(r for r in rows if r["name"] == "张师傅")
    assert zhang == {
        "name": "张师傅",
        "role": "technician",
        "skills": ["plumbing_electric", "hvac"],
        "areas": ["north"],
        "on_duty": False,
        "capacity": 5,
        "community": None,
    }
    invite = run(
        tmp_path,
        "staff",
        "invite",
        "--role",
        "technician",
        "--name",
        "李师傅",
        "--skills",
        "hvac",
        "--bot-username",
        "my_bot",
    )
    assert invite.returncode == 0
    assert "/bind " in invite.stdout and "https://t.me/my_bot?start=inv_" in invite.stdout


def test_bad_settings_name_the_setting(tmp_path: Path) -> None:
    result = run(tmp_path, "tickets", "list", env={"DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    result = run(tmp_path, "tickets", "list", env={"BAOXIU_LANGUAGE": "fr"})
    assert result.returncode == 2 and "BAOXIU_LANGUAGE" in result.stderr


def test_bad_site_file_is_reported_with_its_key(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[[community]]\ncode = "x"\nname = "X"\ntimezone = "Mars/Base"\n', encoding="utf-8")
    result = run(tmp_path, "tickets", "list", env={"BAOXIU_SITE_FILE": str(site)})
    assert result.returncode == 2 and "timezone" in result.stderr


@pytest.mark.parametrize("args", [["db", "upgrade"], ["tickets", "list"]])
def test_db_commands_work_on_an_empty_database(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 0, result.stderr
