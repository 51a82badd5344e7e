"""Per-chat state kept in the database (several workers may serve one chat): choices, cards, reachability.

WeChat has no inline buttons for residents, so a message's choices are shown as a 菜单消息 (msgmenu) or as
numbered lines. What a typed number or a menu tap means is remembered here when the message is delivered:
the newest message decides what a typed number picks (as in the console); a menu tap names its message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from storage.db import Database
from storage.models import WeChatChat, WeComCard
from storage.repositories import upsert

KEEP_MESSAGES = 5  # menu taps on the newest few messages still resolve to their own choices
MENU_SLOTS = 100  # a menu item's id is seq * 100 + position (1-based)
MAX_DEFERRED = 3  # questions kept for a resident outside the 48-hour window


def menu_item_id(seq: int, index: int) -> str:
    """The msgmenu item id of the `index`th choice (0-based) of message number `seq`."""
    return str(seq * MENU_SLOTS + index + 1)


class ChatStore:
    """The `wechat_chats` rows."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def _locked(self, session: AsyncSession, channel: str, chat_id: str) -> WeChatChat:
        now = self.clock.now()
        await session.execute(
            upsert(session, WeChatChat)
            .values(channel=channel, chat_id=chat_id, seq=0, choices={}, updated_at=now)
            .on_conflict_do_nothing()
        )
        stmt = (
            select(WeChatChat)
            .where(WeChatChat.channel == channel, WeChatChat.chat_id == chat_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(stmt)).scalar_one()

    async def remember(self, channel: str, chat_id: str, data: list[str]) -> int:
        """A message is about to be shown with these choices (maybe none); return its sequence number."""
        async with self.db.transaction() as session:
            return await self.remember_in(session, channel, chat_id, data)

    async def remember_in(self, session: AsyncSession, channel: str, chat_id: str, data: list[str]) -> int:
        """`remember`, in the caller's transaction."""
        row = await self._locked(session, channel, chat_id)
        seq = row.seq + 1
        oldest = seq - KEEP_MESSAGES
        kept = {key: value for key, value in row.choices.items() if key.isdigit() and int(key) > oldest}
        if data:
            kept[str(seq)] = list(data)
        row.seq = seq
        row.choices = {**kept, "latest": seq, "deferred": row.choices.get("deferred", [])}
        row.updated_at = self.clock.now()
        return seq

    async def defer(self, channel: str, chat_id: str, payload: dict[str, Any]) -> None:
        """A question went out as a template message (no buttons there): ask it again when they next write."""
        async with self.db.transaction() as session:
            row = await self._locked(session, channel, chat_id)
            waiting = [p for p in row.choices.get("deferred", []) if isinstance(p, dict)]
            row.choices = {**row.choices, "deferred": [*waiting, payload][-MAX_DEFERRED:]}
            row.updated_at = self.clock.now()

    async def take_deferred(self, channel: str, chat_id: str) -> list[dict[str, Any]]:
        """The questions waiting for this chat's next message (and forget them)."""
        async with self.db.transaction() as session:
            row = await session.get(
                WeChatChat, (channel, chat_id), populate_existing=True, with_for_update=True
            )
            if row is None or not row.choices.get("deferred"):
                return []
            waiting = [p for p in row.choices["deferred"] if isinstance(p, dict)]
            row.choices = {k: v for k, v in row.choices.items() if k != "deferred"}
            return waiting

    @staticmethod
    async def read(session: AsyncSession, channel: str, chat_id: str) -> dict[str, object]:
        """The chat's remembered choices (and questions deferred), read in the caller's transaction."""
        row = await session.get(WeChatChat, (channel, chat_id), populate_existing=True)
        return dict(row.choices) if row is not None else {}

    async def _choices(
        self, channel: str, chat_id: str, known: dict[str, object] | None
    ) -> dict[str, object]:
        if known is not None:
            return known
        async with self.db.transaction() as session:
            return await self.read(session, channel, chat_id)

    async def pick(
        self, channel: str, chat_id: str, number: int, choices: dict[str, object] | None = None
    ) -> str | None:
        """The data of choice `number` (1-based) of the newest message, if it had that many."""
        choices = await self._choices(channel, chat_id, choices)
        latest = choices.get(str(choices.get("latest", "")))
        if isinstance(latest, list) and 1 <= number <= len(latest):
            return str(latest[number - 1])
        return None

    async def menu_item(
        self, channel: str, chat_id: str, item_id: str, choices: dict[str, object] | None = None
    ) -> str | None:
        """The data behind a tapped msgmenu item (None when its message is too old or unknown)."""
        if not item_id.isdigit():
            return None
        seq, position = divmod(int(item_id), MENU_SLOTS)
        data = (await self._choices(channel, chat_id, choices)).get(str(seq))
        if isinstance(data, list) and 1 <= position <= len(data):
            return str(data[position - 1])
        return None


class CardStore:
    """The `wecom_cards` rows: which response code updates which member's copy of a card."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def add(
        self, chat_id: str, task_id: str, card_id: str, response_code: str, generation: int
    ) -> None:
        """A card was sent (as `card_id`, or as a newer copy of it)."""
        async with self.db.transaction() as session:
            session.add(
                WeComCard(
                    task_id=task_id,
                    card_id=card_id,
                    generation=generation,
                    chat_id=chat_id,
                    response_code=response_code,
                    code_used=False,
                    created_at=self.clock.now(),
                )
            )

    async def clicked(self, task_id: str, response_code: str) -> None:
        """A member tapped the card: its event carries a fresh code for updating that member's copy."""
        if not response_code:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(WeComCard)
                .where(WeComCard.task_id == task_id)
                .values(response_code=response_code, code_used=False)
            )

    async def current(self, card_id: str) -> WeComCard | None:
        """The newest copy of a card."""
        async with self.db.transaction() as session:
            stmt = (
                select(WeComCard)
                .where(WeComCard.card_id == card_id)
                .order_by(WeComCard.generation.desc())
                .limit(1)
            )
            return (await session.execute(stmt)).scalar_one_or_none()

    async def use_code(self, task_id: str) -> None:
        """A response code works once."""
        async with self.db.transaction() as session:
            await session.execute(
                update(WeComCard).where(WeComCard.task_id == task_id).values(code_used=True)
            )
