"""Long polling that loses nothing: an update is confirmed to Telegram only after `handle` took it.

PTB's Updater confirms a batch (the next getUpdates carries a higher offset) as soon as the batch is queued,
so a worker killed before handling loses those updates. Here the offset moves only past updates `handle`
returned True for, in order; after a crash Telegram sends the rest again and the router's event log drops
what was already handled. The bot's `handle` stores the update in the inbox (bot/telegram/stored.py), which
takes a moment, so the next look follows at once.

Updates are pipelined: while some are being handled, the poller keeps looking for new ones (repeating the
unconfirmed offset, so nothing is confirmed early), so one slow update (a photo download, a ticket's
transaction) does not hold up every chat behind it. Each chat's updates still run one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Hashable

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

log = logging.getLogger(__name__)
# Handles one update; False when it could not even be recorded (it is then fetched again later).
Handle = Callable[[Update], Awaitable[bool]]
PEEK = 0.25  # seconds between looks for new updates while others are still being handled
PAGE = 100  # getUpdates' most updates per call
STOP_GRACE = 10.0  # seconds a stop waits for the updates in hand


class DurablePoller:
    """getUpdates in a loop; the offset passes an update only once it and all before it were handled."""

    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        *,
        long_poll: int = 10,
        poll_interval: float = 0.0,
        max_concurrent: int = 16,
        peek: float = PEEK,
    ) -> None:
        self.bot = bot
        self.handle = handle
        self.long_poll = long_poll
        self.poll_interval = poll_interval
        self.peek = peek
        self.max_concurrent = max_concurrent
        self.offset: int | None = None  # the first update not yet confirmed
        self._slots = asyncio.Semaphore(max_concurrent)
        self._task: asyncio.Task[None] | None = None
        # Fetched and not yet confirmed, in update order: update id -> its handling.
        self._flight: dict[int, asyncio.Task[bool]] = {}
        self._chat_tail: dict[Hashable, asyncio.Task[bool]] = {}  # each chat's latest handling
        self._chat_of: dict[int, Hashable] = {}
        self._running = 0  # handlings holding a slot (not those waiting for their chat's earlier update)

    def start(self) -> None:
        """Poll in a background task."""
        self._task = asyncio.create_task(self.run(), name="telegram-polling")
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        """Stop polling; updates being handled are finished first (bounded), then confirmed."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except Exception:  # the loop had died (a refused token): still finish and confirm what is in hand
            log.warning("polling had stopped on an error; finishing the updates in hand")
        self._task = None
        if self._flight:
            # Let the updates in hand finish, so they are committed and confirmed rather than cut off.
            await asyncio.wait(list(self._flight.values()), timeout=STOP_GRACE)
            late = [task for task in self._flight.values() if not task.done()]
            for task in late:
                task.cancel()  # not confirmed: Telegram sends them again to the next start
            if late:
                await asyncio.wait(late, timeout=1.0)
        self._settle()
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self.offset, limit=1, timeout=0)

    async def run(self) -> None:
        """The loop: confirm what was handled, look for new updates, start handling them."""
        failures = 0
        loop = asyncio.get_running_loop()
        looked = 0.0  # when getUpdates was last called
        full = False  # whether that call brought a whole page of updates already in hand
        while True:
            if not self._settle():
                await self._recover()
                continue
            busy = [task for task in self._flight.values() if not task.done()]
            if busy:
                # Updates are in hand: look for more once they are all done or, failing that, once `peek`
                # has passed. Looking after every single completion would fetch the ones in hand again
                # and again; a page full of them hides any newer ones; with every slot taken, newer
                # updates could not start anyway (updates waiting for their chat's turn take no slot).
                wait = looked + self.peek - loop.time()
                if full or self._running >= self.max_concurrent:
                    await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
                    full = False
                    continue
                if wait > 0:
                    await asyncio.wait(busy, timeout=wait)
                    continue
            looked = loop.time()
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset,
                    timeout=0 if busy else self.long_poll,
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
            news = self._admit(updates)
            full = len(updates) >= PAGE and not news
            if not updates and self.poll_interval:
                await asyncio.sleep(self.poll_interval)

    def _admit(self, updates: tuple[Update, ...]) -> bool:
        """Start handling the updates not seen before; whether there were any."""
        fresh = False
        for update in updates:
            update_id = update.update_id
            if update_id in self._flight or (self.offset is not None and update_id < self.offset):
                continue  # already in hand: the look repeats the unconfirmed offset
            fresh = True
            if self.offset is None:
                self.offset = update_id
            chat = update.effective_chat
            key: Hashable = chat.id if chat is not None else ("update", update_id)
            task = asyncio.create_task(self._handle(update, self._chat_tail.get(key)))
            self._flight[update_id] = self._chat_tail[key] = task
            self._chat_of[update_id] = key
        return fresh

    async def _handle(self, update: Update, before: asyncio.Task[bool] | None) -> bool:
        if before is not None and not await before:
            return False  # keep the chat's order: this one comes again with the one before it
        async with self._slots:
            self._running += 1
            try:
                return await self.handle(update)
            except Exception:
                log.exception("update %s failed", update.update_id)
                return True
            finally:
                self._running -= 1

    def _settle(self) -> bool:
        """Move the offset past the handled prefix; False when an update could not be recorded."""
        for update_id, task in list(self._flight.items()):
            if not task.done():
                return True
            if task.cancelled() or not task.result():
                return False
            del self._flight[update_id]
            self.offset = update_id + 1
            key = self._chat_of.pop(update_id)
            if self._chat_tail.get(key) is task:
                del self._chat_tail[key]
        return True

    async def _recover(self) -> None:
        """Some update was not recorded: let the rest finish, then fetch again from the first unconfirmed."""
        log.warning("some updates could not be recorded; fetching them again shortly")
        if self._flight:
            await asyncio.wait(list(self._flight.values()))
        self._settle()
        self._flight.clear()
        self._chat_tail.clear()
        self._chat_of.clear()
        await asyncio.sleep(2.0)


def _report_end(task: asyncio.Task[None]) -> None:
    """Say so when the loop ends on an error, rather than at the next stop."""
    exc = None if task.cancelled() else task.exception()
    if exc is not None and not isinstance(exc, InvalidToken):  # a refused token is logged where it is seen
        log.error("Telegram polling stopped: %r", exc)


def _seconds(value: object) -> float:
    from datetime import timedelta

    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
