"""Long polling that loses nothing: an update is confirmed to Telegram only after it was handled.

PTB's Updater confirms a batch (the next getUpdates carries a higher offset) as soon as the batch is queued,
so a worker killed before handling loses those updates. Here a batch is handled first (chats concurrently,
each chat's updates in order) and confirmed by the next call; after a crash Telegram sends the batch again
and the router's event log drops what was already handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

log = logging.getLogger(__name__)
# Handles one update; False when it could not even be recorded (the batch is then fetched again later).
Handle = Callable[[Update], Awaitable[bool]]


class DurablePoller:
    """getUpdates in a loop; the offset moves past a batch only once every update in it was handled."""

    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        *,
        long_poll: int = 10,
        poll_interval: float = 0.0,
        max_concurrent: int = 16,
    ) -> None:
        self.bot = bot
        self.handle = handle
        self.long_poll = long_poll
        self.poll_interval = poll_interval
        self.offset: int | None = None
        self._slots = asyncio.Semaphore(max_concurrent)
        self._task: asyncio.Task[None] | None = None
        self._batch: asyncio.Future[bool] | None = None

    def start(self) -> None:
        """Poll in a background task."""
        self._task = asyncio.create_task(self.run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling; a batch being handled is finished first, then confirmed."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._batch is not None and not self._batch.done():
            # Let the batch in hand finish (bounded), so it is committed rather than cut off.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._batch), timeout=10)
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self.offset, limit=1, timeout=0)

    async def run(self) -> None:
        """The loop: fetch, handle, move the offset."""
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset,
                    timeout=self.long_poll,
                    read_timeout=self.long_poll + 10,
                    allowed_updates=Update.ALL_TYPES,
                )
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stops")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (Conflict, TelegramError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.8, 1.2)
                level = logging.ERROR if isinstance(exc, Conflict) else logging.WARNING
                log.log(level, "getUpdates failed (%s); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if updates:
                # Shielded: a stop during the batch lets it finish, so nothing is half done and unconfirmed.
                self._batch = asyncio.ensure_future(self._handle_batch(list(updates)))
                if await asyncio.shield(self._batch):
                    self.offset = updates[-1].update_id + 1
                else:
                    log.warning("some updates could not be recorded; fetching them again shortly")
                    await asyncio.sleep(2.0)
            elif self.poll_interval:
                await asyncio.sleep(self.poll_interval)

    async def _handle_batch(self, updates: list[Update]) -> bool:
        by_chat: dict[object, list[Update]] = defaultdict(list)
        for update in updates:
            chat = update.effective_chat
            by_chat[chat.id if chat is not None else ("update", update.update_id)].append(update)
        results = await asyncio.gather(
            *(self._handle_chat(chat_updates) for chat_updates in by_chat.values())
        )
        return all(results)

    async def _handle_chat(self, updates: list[Update]) -> bool:
        async with self._slots:
            for update in updates:
                try:
                    if not await self.handle(update):
                        return False  # keep this chat's order: the rest comes again with the retry
                except Exception:
                    log.exception("update %s failed", update.update_id)
            return True


def _seconds(value: object) -> float:
    from datetime import timedelta

    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
