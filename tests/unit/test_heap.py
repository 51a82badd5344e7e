"""The worker's start-up heap is left out of the collector's full passes, once (in a process of its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json, time
from bot.app import build_app
from bot.ops.heap import freeze_startup_heap
from bot.settings import Settings

app = build_app(Settings(_env_file=None))  # the site, the catalogues, the tables: kept for the worker's life
junk = [[object() for _ in range(20)] for _ in range(20_000)]  # what the work creates and keeps a while

def full_pass():
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started

before = min(full_pass() for _ in range(3))
first, again = freeze_startup_heap(), freeze_startup_heap()
del junk
after = min(full_pass() for _ in range(3))
print(json.dumps({"first": first, "again": again, "before": before, "after": after}))
"""


def test_a_started_worker_freezes_its_heap_once_and_full_passes_get_shorter(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["first"] > 100_000  # the app's objects and the junk alive at the time
    assert got["again"] == 0  # a second call (another channel starting) changes nothing
    assert got["after"] < got["before"] / 2
