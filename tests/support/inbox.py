"""The inbox's tests' shared parts: a processor that records, can be held back and can fail."""

from __future__ import annotations

import asyncio
import random
from typing import Any


class Recorder:
    """A processor that records what it handled, can be held back, and can fail a number of times."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0

    async def __call__(self, payload: dict[str, Any]) -> bool:
        await self.gate.wait()
        await asyncio.sleep(random.uniform(0, 0.01))  # handling takes a varying while
        if self.failures:
            self.failures -= 1
            return False
        self.handled.append(payload["text"])
        return True
