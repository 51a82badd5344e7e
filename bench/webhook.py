"""The fake Bot API playing Telegram in webhook mode: each update a resident sends is POSTed to a worker.

`WebhookServer` is the bench's fake server (bench/server.py) whose queued updates are not served by
getUpdates but POSTed at once, with the secret token header, to one of the workers' webhook URLs: the one
at `update_id % workers` (update ids are consecutive, so this is round robin, and a chat's updates alternate
between the workers, as behind a load balancer that knows nothing of chats). As Telegram does, a chat's
next update is POSTed only once the previous one was answered, and a refused one is POSTed again.

Each POST is timed twice: to its HTTP 200 (the answer) and to the first message or edit the bot sends to
that chat afterwards at the fake Bot API (the reply).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx

from bench.botproc import WEBHOOK_SECRET
from bench.server import BenchServer
from bot.telegram.webhook import SECRET_HEADER
from tests.fakes.telegram_objects import JSON

TRIES = 20  # POSTs of one update before it counts as lost (Telegram retries for much longer)


@dataclass
class Post:
    """One update's delivery: when it was POSTed, answered 200, and first replied to (perf_counter)."""

    update_id: int
    chat: int
    posted: float
    answered: float | None = None
    replied: float | None = None


class WebhookServer(BenchServer):
    """BenchServer that delivers updates by POSTing them to `targets` (set before the first update)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets: list[str] = []
        self.client: httpx.AsyncClient | None = None
        self.posts: list[Post] = []
        self.refused = 0  # POSTs answered other than 200, or failed
        self.lost = 0  # updates never accepted after TRIES POSTs
        self._awaiting: dict[int, list[Post]] = defaultdict(list)  # chat -> posts not yet replied to
        self._tails: dict[int, asyncio.Task[None]] = {}  # chat -> its newest delivery
        self._tasks: set[asyncio.Task[None]] = set()

    def push_update(self, update: JSON) -> int:
        """Stamp the update as BenchServer does, then POST it instead of queueing it for getUpdates."""
        update_id = super().push_update(update)
        raw = self.take_update(update_id)
        chat = self._update_chat.get(update_id, 0)
        task = asyncio.get_running_loop().create_task(self._deliver(raw, chat, self._tails.get(chat)))
        self._tails[chat] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return update_id

    async def _deliver(self, update: JSON, chat: int, previous: asyncio.Task[None] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous})  # one update of a chat in flight at a time, as Telegram does
        assert self.client is not None and self.targets, "set client and targets first"
        update_id = int(update["update_id"])
        url = self.targets[update_id % len(self.targets)]
        post = Post(update_id, chat, time.perf_counter())
        self.posts.append(post)
        self._awaiting[chat].append(post)
        for attempt in range(TRIES):
            try:
                answer = await self.client.post(url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
                if answer.status_code == 200:
                    post.answered = time.perf_counter()
                    return
            except httpx.HTTPError:
                pass
            self.refused += 1
            await asyncio.sleep(0.1 * (attempt + 1))
        self.lost += 1

    def _answered(self, chat_id: int) -> None:
        now = time.perf_counter()
        for post in self._awaiting.pop(chat_id, []):
            post.replied = now
        super()._answered(chat_id)

    async def drain(self) -> None:
        """Wait until every update pushed so far has been answered (or given up)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
