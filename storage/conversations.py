"""A chat's conversation row: locked with what is known of the sender, saved with the step's replies."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, insert, inspect, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import ChannelIdentity, Conversation, Person
from storage.repositories import People


class Conversations:
    """Per-chat dialog state."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, channel: str, chat_id: str, now: datetime) -> Conversation:
        """The chat's conversation row, created if missing and locked for this transaction."""
        stmt = _lock_conversation(self.session.get_bind().dialect.name)
        params = {"b_channel": channel, "b_chat": chat_id, "b_now": now}
        conversation: Conversation = (await self.session.execute(stmt, params)).scalar_one()
        return conversation

    async def lock_with_sender(
        self, channel: str, chat_id: str, external_id: str, now: datetime
    ) -> tuple[Conversation, tuple[Person, ChannelIdentity] | None]:
        """`lock`, and the person behind the sender's account as `People.by_identity` finds them: on
        PostgreSQL in one statement (a round trip fewer for every event)."""
        if self.session.get_bind().dialect.name != "postgresql":
            conversation = await self.lock(channel, chat_id, now)
            return conversation, await People(self.session).by_identity(channel, external_id)
        params = {"b_channel": channel, "b_chat": chat_id, "b_now": now, "b_external": external_id}
        row = (await self.session.execute(_lock_with_sender(), params)).one()
        return row[0], ((row[1], row[2]) if row[2] is not None else None)


@cache
def _lock_with_sender() -> Any:
    """PostgreSQL: the conversation's lock as a CTE, the sender's identity and person joined to it (the
    identity's channel is the conversation's)."""
    table = cast(Table, Conversation.__table__)
    locked = _conversation_upsert("postgresql").returning(*table.c).cte("locked")
    conversation = aliased(Conversation, locked)
    return (
        select(conversation, Person, ChannelIdentity)
        .select_from(locked)
        .outerjoin(
            ChannelIdentity,
            (ChannelIdentity.channel == locked.c.channel)
            & (ChannelIdentity.external_id == bindparam("b_external")),
        )
        .outerjoin(Person, Person.id == ChannelIdentity.person_id)
        .execution_options(populate_existing=True)
    )


def _conversation_upsert(dialect: str) -> Any:
    """The conversation's INSERT that, when the row exists, updates nothing that changes: the row comes
    back either way and, on PostgreSQL, is locked for the transaction as SELECT ... FOR UPDATE would."""
    module = postgresql if dialect == "postgresql" else sqlite
    insert = module.insert(Conversation).values(
        channel=bindparam("b_channel"),
        chat_id=bindparam("b_chat"),
        dialog="",
        step="",
        nonce="",
        data={},
        updated_at=bindparam("b_now"),
    )
    return insert.on_conflict_do_update(
        index_elements=["channel", "chat_id"], set_={"chat_id": insert.excluded.chat_id}
    )


@cache
def _lock_conversation(dialect: str) -> Any:
    """Built once per dialect: it runs for every event, and building it costs more than running it."""
    # One round trip; SQLite's writer lock is already held.
    stmt = _conversation_upsert(dialect).returning(Conversation)
    return select(Conversation).from_statement(stmt).execution_options(populate_existing=True)


# Rows an INSERT may carry with a conversation's UPDATE (more go the usual way: they are rare, and each
# count is a statement of its own in SQLAlchemy's cache).
_SAVED_WITH_AT_MOST = 8


async def save_with(
    session: AsyncSession, conversation: Conversation, table: Table, rows: list[dict[str, Any]]
) -> bool:
    """PostgreSQL: insert `rows` into `table` and save the conversation's changes in one statement (a round
    trip fewer for every event than its UPDATE at the commit); False, and nothing done, elsewhere.

    Only the conversation is saved here; anything else changed in the session is flushed at the commit
    (nothing refers to a conversation or an outbox row, so the order does not matter)."""
    if session.get_bind().dialect.name != "postgresql" or not 0 < len(rows) <= _SAVED_WITH_AT_MOST:
        return False
    state = inspect(conversation)
    changed = tuple(key for key in _CONVERSATION_STATE if state.attrs[key].history.has_changes())
    if not changed or state.key is None:
        return False
    params: dict[str, Any] = {"c_id": conversation.id}
    params.update({f"c_{key}": getattr(conversation, key) for key in changed})
    given = frozenset(rows[0])
    if any(row.keys() != given for row in rows[1:]):
        raise ValueError("rows saved in one statement must name the same columns")
    defaults = _scalar_defaults(table, given)
    for i, row in enumerate(rows):
        params.update({f"r{i}_{key}": value for key, value in {**defaults, **row}.items()})
    columns = (*rows[0], *defaults)
    # Without the autoflush SQLAlchemy runs before every Core statement: it would send the very UPDATE
    # this statement carries (other changes are flushed at the commit instead).
    with session.no_autoflush:
        await session.execute(_insert_saving(table, columns, len(rows), changed), params)
    for key in changed:  # saved: the unit of work has nothing left to write for them
        set_committed_value(conversation, key, params[f"c_{key}"])
    return True


_CONVERSATION_STATE = ("dialog", "step", "nonce", "data", "updated_at")


@cache
def _scalar_defaults(table: Table, given: frozenset[str]) -> dict[str, Any]:
    """The Python-side defaults of the columns not `given` (an INSERT of bound rows leaves them unset)."""
    missing = [column for column in table.c if column.key not in given and column.default is not None]
    computed = [column.key for column in missing if not column.default.is_scalar]  # type: ignore[union-attr]
    if computed:  # the UNION ALL form would leave them NULL
        raise ValueError(f"{table.name}: computed defaults must be given: {', '.join(computed)}")
    return {column.key: column.default.arg for column in missing}  # type: ignore[union-attr]


@cache
def _insert_saving(table: Table, columns: tuple[str, ...], count: int, changed: tuple[str, ...]) -> Insert:
    """WITH saved AS (UPDATE conversations ...) INSERT INTO `table` ... of `count` rows, built once.

    Several rows come from a UNION ALL of SELECTs, not a multi-row VALUES: SQLAlchemy does not cache the
    compiled form of the latter, and compiling it cost more than the round trip saved."""
    conversations = cast(Table, Conversation.__table__)
    saved = (
        update(conversations)
        .where(conversations.c.id == bindparam("c_id"))
        .values({key: bindparam(f"c_{key}", type_=conversations.c[key].type) for key in changed})
        .cte("saved")
    )

    def row(i: int) -> dict[str, Any]:
        return {key: bindparam(f"r{i}_{key}", type_=table.c[key].type) for key in columns}

    if count == 1:
        return insert(table).values(row(0)).add_cte(saved)
    rows = union_all(*(select(*(value.label(key) for key, value in row(i).items())) for i in range(count)))
    return insert(table).from_select(list(columns), rows, include_defaults=False).add_cte(saved)
