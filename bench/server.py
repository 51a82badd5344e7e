"""The project's fake Bot API server with stopwatches: when each update was served, when answers came."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from tests.fakes.telegram_objects import JSON, SentMessage
from tests.fakes.telegram_server import FakeTelegramServer

ANY = 0  # `until(ANY, ...)` re-checks after any send, edit or callback answer


class BenchServer(FakeTelegramServer):
    """FakeTelegramServer that timestamps updates and answers and lets drivers await replies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pushed_at: dict[int, float] = {}
        self.served_at: dict[int, float] = {}
        self.query_update: dict[str, int] = {}  # callback query id -> update id
        self.answered_at: dict[str, float] = {}  # callback query id -> answerCallbackQuery time
        self.latencies: list[float] = []  # served -> first message to the chat, per measured update
        self.sends = 0  # send/edit calls accepted
        self.served = 0  # updates returned by getUpdates, each time one is returned again counted again
        self.sent_at: dict[int, list[float]] = defaultdict(list)  # chat -> when each send/edit arrived
        self._outstanding: dict[int, float] = {}  # chat -> served time of the update awaiting a reply
        self._update_chat: dict[int, int] = {}
        self._waiters: dict[int, list[asyncio.Future[None]]] = defaultdict(list)
        self.measure = True
        self.last_activity = time.perf_counter()

    def api_urls(self) -> tuple[str, str]:
        """The Bot API's base URL and its file URL, for the bot process."""
        return self.base_url, self.file_base_url

    # ----- stamping --------------------------------------------------------------------------------

    def push_update(self, update: JSON) -> int:
        """Queue an update and remember when, and for which chat."""
        update_id = super().push_update(update)
        self.pushed_at[update_id] = time.perf_counter()
        body = update.get("message") or update.get("callback_query", {}).get("message") or {}
        chat = body.get("chat", {}).get("id")
        if chat is not None:
            self._update_chat[update_id] = int(chat)
        query = update.get("callback_query")
        if query is not None:
            self.query_update[str(query["id"])] = update_id
        return update_id

    async def _get_updates(self, p: JSON) -> list[JSON]:
        updates = await super()._get_updates(p)
        now = time.perf_counter()
        self.served += len(updates)
        for update in updates:
            update_id = int(update["update_id"])
            if update_id not in self.served_at:
                self.served_at[update_id] = now
                chat = self._update_chat.get(update_id)
                if chat is not None and self.measure:
                    self._outstanding.setdefault(chat, now)
        return updates

    def _answered(self, chat_id: int) -> None:
        now = time.perf_counter()
        self.sends += 1
        self.sent_at[chat_id].append(now)
        served = self._outstanding.pop(chat_id, None)
        if served is not None:
            self.latencies.append(now - served)
        self._wake(chat_id)

    def _wake(self, chat_id: int) -> None:
        self.last_activity = time.perf_counter()
        for key in (chat_id, ANY):
            for waiter in self._waiters.pop(key, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _record(
        self, method: str, chat: JSON, p: JSON, content: JSON, markup: JSON | None, **files: Any
    ) -> JSON:
        raw = super()._record(method, chat, p, content, markup, **files)
        self._answered(int(chat["id"]))
        return raw

    def _apply_edit(self, record: SentMessage, changes: JSON, markup: JSON | None) -> JSON:
        raw = super()._apply_edit(record, changes, markup)
        self._answered(record.chat_id)
        return raw

    async def _answer_callback_query(self, p: JSON) -> bool:
        result = await super()._answer_callback_query(p)
        self.answered_at[str(p.get("callback_query_id") or "")] = time.perf_counter()
        self._wake(ANY)
        return result

    # ----- waiting ---------------------------------------------------------------------------------

    async def changed(self, chat_id: int, timeout: float) -> None:  # noqa: ASYNC109 - a deadline
        """Wait until the bot sends or edits something in the chat (TimeoutError after `timeout`)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id].append(future)
        await asyncio.wait_for(future, timeout)

    async def until(self, chat_id: int, predicate: Any, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds, re-checking whenever the chat (or, with ANY, anything) changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"chat {chat_id}: no expected reply; got {self.tail(chat_id)}")
            try:
                await self.changed(chat_id, min(remaining, 1.0))
            except TimeoutError:
                continue  # re-check: an error in the bot shows up as a missing reply at the deadline

    async def quiet(self, seconds: float = 0.5, limit: float = 10.0) -> None:
        """Wait until the bot has sent nothing for `seconds` (at most `limit` seconds in all)."""
        deadline = time.perf_counter() + limit
        for _ in range(int(limit / seconds) + 1):
            idle = time.perf_counter() - self.last_activity
            if idle >= seconds or time.perf_counter() >= deadline:
                return
            await asyncio.sleep(seconds - idle)

    def tail(self, chat_id: int, n: int = 3) -> list[str]:
        """The last messages of a chat, for error messages."""
        return [m.content[:80] for m in self.sent_to(chat_id)[-n:]]

    def reset_stats(self) -> None:
        """Forget the latencies collected so far."""
        self.latencies.clear()
        self._outstanding.clear()
