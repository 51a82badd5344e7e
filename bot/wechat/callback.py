"""What both callback endpoints share: signatures, freshness and replay, the 5-second answer, dedupe.

WeChat waits 5 seconds for an answer and then retries (three times in all). A message is answered once it is
committed to the inbox (bot/inbox.py) and handled right after, in order per sender, so neither a burst nor
a slow photo download makes WeChat retry, and a crash in between loses nothing. Replies never go in the HTTP
answer: they are outbox rows, delivered as customer-service messages.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.inbox import NONCE_SUFFIX, Inbox
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
MAX_SKEW = 300  # a signed timestamp further than this from our clock is refused (a replay)
MAX_BODY = 1024 * 1024


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (token, timestamp, nonce[, encrypted message])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], given: str) -> bool:
    """Constant-time comparison of a request's signature."""
    return bool(given) and hmac.compare_digest(signature(*expected_parts), given.lower())


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
        inbox: Inbox,
        *,
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
        self.quotas = quotas  # the Official Account: note what each message allows us to send back
        self.inbox = inbox
        inbox.register(channel, self._process)

    def stale(self, timestamp: str) -> bool:
        """True when a signed timestamp is not a number or too far from now."""
        try:
            sent = int(timestamp)
        except ValueError:
            return True
        return abs(self.now().timestamp() - sent) > MAX_SKEW

    @staticmethod
    def nonce_key(timestamp: str, nonce: str) -> str:
        """The request's (timestamp, nonce) as an event id of the replay log."""
        key = f"n:{timestamp}:{nonce}"
        return "n:" + hashlib.sha256(key.encode()).hexdigest() if len(key) > 80 else key

    async def replayed(self, timestamp: str, nonce: str) -> bool:
        """Record the request's (timestamp, nonce); True when it was seen before."""
        key = self.nonce_key(timestamp, nonce)
        async with self.db.transaction() as session:
            return not await InboundLog(session).first_time(self.channel + NONCE_SUFFIX, key, self.now())

    async def handle(self, msg: dict[str, str], *, replay: str = "") -> bool:
        """Commit the message to the inbox, to be handled right after the answer; False for a repeat of one
        still waiting or (given the request's `nonce_key`) a replayed request, which are dropped."""
        chat = self.channel + ":" + sender(msg)
        return await self.inbox.accept(self.channel, event_id(msg), chat, msg, nonce=replay)

    async def close(self) -> None:
        """Let messages being handled finish (at shutdown)."""
        await self.inbox.close()

    async def _process(self, msg: dict[str, Any]) -> bool:
        """Handle one message from the inbox (in order per sender); False when it should be tried again."""
        try:
            handled, choices = await self._look(event_id(msg), sender(msg), msg)
            if handled:
                log.info("%s: %s is a retry of something handled", self.channel, event_id(msg))
                return True
            result = await self.translator.translate(msg, choices)
            if result is None:
                return True
            if isinstance(result, Unsupported):
                await self._unsupported(result)
            else:
                await self.router.handle(result)
            if choices.get("deferred"):
                await self._ask_again(result.chat_id)
        except Exception:
            log.exception("%s: failed to handle message %s", self.channel, event_id(msg))
            return False
        return True

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
