"""`baoxiu residents erase` as an operator runs it for a resident who asked by phone."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run
from tests.support.media import jpeg

FLOOD_OFF = {"BAOXIU_FLOOD_PER_MINUTE": "0"}


def _file(tmp_path: Path, *, cancel: bool) -> str:
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(jpeg(color=(10, 200, 30)))
    steps = ["报修", "1", "1", "1", "1203", "13812345678", "厨房水管漏水了", "1"]
    steps += [f"/photo {photo}", "1", "1", "1"]  # 完成, 尽快, 确认提交
    if cancel:
        steps += ["/mytickets", "1", "2", "1"]  # the request, 取消报修, 已自行解决
    result = run(tmp_path, "console", stdin="\n".join([*steps, "/quit"]), env=FLOOD_OFF)
    assert "BX-" in result.stdout, result.stdout[-1500:]
    return result.stdout


def test_erase_by_phone_after_confirming(tmp_path: Path) -> None:
    _file(tmp_path, cancel=True)
    number = json.loads(run(tmp_path, "tickets", "list", "--json").stdout)[0]["number"]
    media = tmp_path / "media"
    assert [p for p in media.rglob("*.jpg")]

    declined = run(tmp_path, "residents", "erase", "--phone", "138 1234 5678", stdin="no\n")
    assert declined.returncode == 1 and "Nothing erased" in declined.stdout
    assert "13812345678" not in declined.stdout and "138****5678" in declined.stdout

    erased = run(tmp_path, "residents", "erase", "--phone", "13812345678", stdin="yes\n")
    assert erased.returncode == 0, erased.stderr
    assert "Erased resident" in erased.stdout and "1 photos" in erased.stdout
    shown = json.loads(run(tmp_path, "tickets", "show", number, "--json").stdout)
    assert shown["phone"] == "" and shown["address"]["room"] is None and shown["photos"] == []
    assert shown["address"]["building"] == "1" and shown["events"][-1]["kind"] == "erased"
    assert shown["events"][-1]["data"] == {"by": "staff"}
    assert not [p for p in media.rglob("*.jpg")]
    assert b"13812345678" not in (tmp_path / "cli.db").read_bytes()

    again = run(tmp_path, "residents", "erase", "--phone", "13812345678", "--yes")
    assert again.returncode == 1 and "No resident with phone 138****5678" in again.stdout


def test_open_requests_and_bad_phones_are_refused(tmp_path: Path) -> None:
    _file(tmp_path, cancel=False)
    refused = run(tmp_path, "residents", "erase", "--phone", "13812345678", "--yes")
    assert refused.returncode == 1 and "still has open requests: BX-" in refused.stdout
    shown = json.loads(run(tmp_path, "tickets", "list", "--json").stdout)[0]
    assert (
        json.loads(run(tmp_path, "tickets", "show", shown["number"], "--json").stdout)["phone"]
        == "13812345678"
    )
    bad = run(tmp_path, "residents", "erase", "--phone", "hello")
    assert bad.returncode == 2 and "not a phone number" in bad.stderr
