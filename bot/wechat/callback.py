"""What both callback endpoints share: signatures, freshness and replay, the 5-second answer, dedupe.

WeChat waits 5 seconds for an answer and then retries (three times in all). A message is handled inline
when that is quick (nearly always: one transaction), so a crash loses nothing; when it takes longer (a slow
photo download) the endpoint answers at `BUDGET` seconds anyway and the work finishes in the background.
Replies never go in the HTTP answer: they are outbox rows, delivered as customer-service messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy import select

from bot.wechat import quota
from bot.wechat.chats import ChatStore
from bot.wechat.inbound import InboundTranslator, Unsupported, event_id, sender
from handlers.i18n import Translator, normalize_language
from handlers.messages import Outbound
from handlers.outbox import write_outbox
from handlers.router import Router
from storage.db import Database
from storage.models import InboundEvent
from storage.repositories import InboundLog, People

log = logging.getLogger(__name__)
BUDGET = 4.0  # seconds before the endpoint answers "success" whatever the state of the work
MAX_SKEW = 300  # a signed timestamp further than this from our clock is refused (a replay)
MAX_BODY = 1024 * 1024


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (token, timestamp, nonce[, encrypted message])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], given: str) -> bool:
    """Constant-time comparison of a request's signature."""
    return bool(given) and hmac.compare_digest(signature(*expected_parts), given.lower())


class ChatLocks:
    """One lock per sender in this process, so one person's messages are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the sender's lock; idle locks are forgotten."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class CallbackCore:
    """The part of an endpoint after the signature: freshness, replay, dedupe, translation, routing."""

    def __init__(
        self,
        channel: str,
        db: Database,
        router: Router,
        translator: InboundTranslator,
        chats: ChatStore,
        now: Callable[[], datetime],
        default_language: str,
        wake: Callable[[], None],
        *,
        budget: float = BUDGET,
        quotas: bool = False,
    ) -> None:
        self.channel = channel
        self.db = db
        self.router = router
        self.translator = translator
        self.chats = chats
        self.now = now
        self.default_language = default_language
        self.wake = wake
        self.budget = budget
        self.quotas = quotas  # the Official Account: note what each message allows us to send back
        self.locks = ChatLocks()
        self.tasks: set[asyncio.Task[None]] = set()

    def stale(self, timestamp: str) -> bool:
        """True when a signed timestamp is not a number or too far from now."""
        try:
            sent = int(timestamp)
        except ValueError:
            return True
        return abs(self.now().timestamp() - sent) > MAX_SKEW

    async def replayed(self, timestamp: str, nonce: str) -> bool:
        """Record the request's (timestamp, nonce); True when it was seen before."""
        key = f"n:{timestamp}:{nonce}"
        if len(key) > 80:
            key = "n:" + hashlib.sha256(key.encode()).hexdigest()
        async with self.db.transaction() as session:
            return not await InboundLog(session).first_time(self.channel + "#nonce", key, self.now())

    async def handle(self, msg: dict[str, str]) -> None:
        """Handle one message, waiting at most the budget (the work goes on if it takes longer)."""
        task = asyncio.create_task(self._process(msg))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        await asyncio.wait({task}, timeout=self.budget)

    async def close(self) -> None:
        """Let background work finish (at shutdown)."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=10)

    async def _process(self, msg: dict[str, str]) -> None:
        try:
            async with self.locks.hold(sender(msg)):
                handled, choices = await self._look(event_id(msg), sender(msg), msg)
                if handled:
                    log.info("%s: %s is a retry of something handled", self.channel, event_id(msg))
                    return
                result = await self.translator.translate(msg, choices)
                if result is None:
                    return
                if isinstance(result, Unsupported):
                    await self._unsupported(result)
                else:
                    await self.router.handle(result)
                if choices.get("deferred"):
                    await self._ask_again(result.chat_id)
        except Exception:
            log.exception("%s: failed to handle message %s", self.channel, event_id(msg))

    async def _ask_again(self, chat_id: str) -> None:
        """Questions that went out as template messages (outside the 48-hour window) come back with their
        choices now that the person wrote."""
        waiting = await self.chats.take_deferred(self.channel, chat_id)
        if not waiting:
            return
        now = self.now()
        async with self.db.transaction() as session:
            await write_outbox(session, [Outbound.from_row(self.channel, chat_id, p) for p in waiting], now)
        self.wake()

    async def _look(self, eid: str, chat_id: str, msg: dict[str, str]) -> tuple[bool, dict[str, object]]:
        """Whether this message was handled before (a retry), and the chat's remembered choices: one read.
        A new message's customer-service allowance is noted in the same transaction, before any reply.

        Read under the sender's lock, after what their previous message caused was committed; a question
        deferred after this read is asked again after their next message.
        """
        async with self.db.transaction() as session:
            stmt = select(InboundEvent.event_id).where(
                InboundEvent.channel == self.channel, InboundEvent.event_id == eid
            )
            if (await session.execute(stmt)).first() is not None:
                return True, {}
            kind = quota.granting(msg) if self.quotas else None
            if kind is not None:
                await quota.grant(session, self.channel, chat_id, kind, self.now())
            return False, await self.chats.read(session, self.channel, chat_id)

    async def _unsupported(self, what: Unsupported) -> None:
        """Video, links, files ...: say what we can take (once, even when WeChat retries)."""
        now = self.now()
        async with self.db.transaction() as session:
            if not await InboundLog(session).first_time(self.channel, what.event_id, now):
                return
            person, _ = await People(session).ensure(
                self.channel,
                what.identity.external_id,
                what.chat_id,
                now=now,
                language=normalize_language("", self.default_language),
            )
            t = Translator(person.language or self.default_language)
            text = t(
                "Sorry, I can only take text, photos and locations here. Please send it as one of those."
            )
            await write_outbox(session, [Outbound(self.channel, what.chat_id, text)], now)
        log.info("%s: answered an unsupported %s message", self.channel, what.msg_type)
        self.wake()
