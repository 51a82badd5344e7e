"""The garbage collector's pauses: what the worker keeps for its whole life is left out of its full passes.

A started worker holds some 170,000 objects it keeps until it stops (modules, the site, the message
catalogues, SQLAlchemy's and python-telegram-bot's tables). Under load Python's full collection walks all of
them every few seconds, and that walk stops the event loop for about 110 ms on a busy two-core machine: every
webhook, callback and tap in flight waits. Frozen once after start-up (`gc.freeze`), they are skipped, and the
full passes walk only what the work itself creates (15-30 ms in the same bench, see bench/RESULTS.md).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

_frozen = False


def freeze_startup_heap() -> int:
    """After start-up, once per process: collect, then leave every object alive out of later full passes;
    how many were frozen (0 when already done)."""
    global _frozen
    if _frozen:
        return 0
    _frozen = True
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up heap frozen: %d objects left out of the collector's passes", frozen)
    return frozen
