"""Queries the rest of the code needs, in SQLAlchemy 2 style, one class per aggregate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import Insert, Table, bindparam, insert, inspect, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    Address,
    ChannelIdentity,
    Conversation,
    InboundEvent,
    OutboxMessage,
    Person,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPhoto,
    Timer,
)

SEEN_EVERY = timedelta(minutes=1)


def upsert(session: AsyncSession, model: Any) -> Any:
    """A dialect-specific INSERT that supports ON CONFLICT."""
    return upsert_for(session.get_bind().dialect.name, model)


def upsert_for(dialect: str, model: Any) -> Any:
    """`upsert` for a dialect by name (for statements built once)."""
    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)


class Seen(TypedDict):
    """What `People.settle` notes of an account seen: when, the language, the name and language it gave."""

    now: datetime
    language: str
    display_name: NotRequired[str]
    language_code: NotRequired[str]


class People:
    """People and their channel identities."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        """A person by id."""
        return await self.session.get(Person, person_id)

    async def by_identity(self, channel: str, external_id: str) -> tuple[Person, ChannelIdentity] | None:
        """The person behind a channel account, if known."""
        params = {"b_channel": channel, "b_external": external_id}
        row = (await self.session.execute(_BY_IDENTITY, params)).first()
        return (row[0], row[1]) if row else None

    async def by_name(self, name: str) -> Sequence[Person]:
        """Active people with exactly this name."""
        return (
            (await self.session.execute(select(Person).where(Person.name == name, Person.active.is_(True))))
            .scalars()
            .all()
        )

    async def latest_identities(self, person_ids: Sequence[int]) -> dict[int, ChannelIdentity]:
        """Each person's most recently seen channel account, in one query (people with none are left out)."""
        if not person_ids:
            return {}
        stmt = (
            select(ChannelIdentity)
            .where(ChannelIdentity.person_id.in_(sorted(set(person_ids))))
            .order_by(ChannelIdentity.last_seen_at.desc(), ChannelIdentity.id)
        )
        latest: dict[int, ChannelIdentity] = {}
        for identity in (await self.session.execute(stmt)).scalars():
            latest.setdefault(identity.person_id, identity)
        return latest

    async def identities(self, person_id: int) -> Sequence[ChannelIdentity]:
        """Every channel account of a person, most recently seen first."""
        stmt = (
            select(ChannelIdentity)
            .where(ChannelIdentity.person_id == person_id)
            .order_by(ChannelIdentity.last_seen_at.desc())
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def ensure(
        self, channel: str, external_id: str, chat_id: str, **seen: Unpack[Seen]
    ) -> tuple[Person, ChannelIdentity]:
        """Find or create the person for a channel account and note that they were seen (as `settle`)."""
        return await self.settle(
            await self.by_identity(channel, external_id), channel, external_id, chat_id, **seen
        )

    async def settle(
        self,
        found: tuple[Person, ChannelIdentity] | None,
        channel: str,
        external_id: str,
        chat_id: str,
        *,
        now: datetime,
        display_name: str = "",
        language: str,
        language_code: str = "",
    ) -> tuple[Person, ChannelIdentity]:
        """`ensure` once the account was looked up (`found`, None when unknown): noted as seen, or created."""
        if found:
            person, identity = found
            # Noted at most once a minute: a statement per event otherwise, for a time only read to the
            # minute (WeChat's 48-hour window, keeps a margin; which of a person's apps was used last).
            if identity.last_seen_at is None or now - identity.last_seen_at >= SEEN_EVERY:
                identity.last_seen_at = now
            if display_name:
                identity.display_name = display_name[:100]
            if chat_id and identity.chat_id != chat_id:
                identity.chat_id = chat_id
            return person, identity
        try:
            # A savepoint: when another worker creates the same account at the same moment, its row wins
            # and this event goes on with it instead of failing.
            async with self.session.begin_nested():
                person = Person(name=display_name[:100], role="resident", language=language, created_at=now)
                self.session.add(person)
                await self.session.flush()
                identity = ChannelIdentity(
                    person_id=person.id,
                    channel=channel,
                    external_id=external_id,
                    chat_id=chat_id,
                    display_name=display_name[:100],
                    language_code=language_code[:16],
                    last_seen_at=now,
                )
                self.session.add(identity)
                await self.session.flush()
        except IntegrityError:
            found = await self.by_identity(channel, external_id)
            if found is None:
                raise
            return found
        return person, identity


# Built once: every event starts with it, and building a join costs about as much as running it.
_BY_IDENTITY = (
    select(Person, ChannelIdentity)
    .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
    .where(
        ChannelIdentity.channel == bindparam("b_channel"),
        ChannelIdentity.external_id == bindparam("b_external"),
    )
)


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


class InboundLog:
    """Remembers which channel events were handled."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_time(self, channel: str, event_id: str, now: datetime) -> bool:
        """Record the event; False when it was already handled."""
        stmt = log_event(self.session.get_bind().dialect.name)
        result = await self.session.execute(stmt, {"b_channel": channel, "b_event": event_id, "b_now": now})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def first_times(self, channel: str, event_ids: list[str], now: datetime) -> set[str]:
        """Record many events in one statement; the ids not seen before."""
        if not event_ids:
            return set()
        rows = [{"channel": channel, "event_id": e, "received_at": now} for e in dict.fromkeys(event_ids)]
        result = await self.session.execute(_first_times(self.session.get_bind().dialect.name), rows)
        return {row.event_id for row in result}


def insert_skipping_repeats(dialect: str, table: Table, *returning: Any) -> Insert:
    """An INSERT of many rows that skips those whose unique key is taken and returns `returning` of the
    rows it added (build it once per dialect: the statements that use it run for every event)."""
    module = postgresql if dialect == "postgresql" else sqlite
    stmt: Insert = module.insert(table).on_conflict_do_nothing().returning(*returning)
    return stmt


@cache
def _first_times(dialect: str) -> Insert:
    table = cast(Table, InboundEvent.__table__)
    return insert_skipping_repeats(dialect, table, table.c.event_id)


@cache
def log_event(dialect: str) -> Insert:
    """The event log's INSERT of one event (`b_channel`, `b_event`, `b_now`), skipping one already there;
    built once per dialect: it runs for every inbound event."""
    module = postgresql if dialect == "postgresql" else sqlite
    stmt: Insert = (
        module.insert(InboundEvent.__table__)
        .values(channel=bindparam("b_channel"), event_id=bindparam("b_event"), received_at=bindparam("b_now"))
        .on_conflict_do_nothing()
    )
    return stmt


class Addresses:
    """Residents' saved addresses."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_person(self, person_id: int, limit: int = 5) -> Sequence[Address]:
        """Most recently used first."""
        stmt = (
            select(Address)
            .where(Address.person_id == person_id)
            .order_by(Address.last_used_at.desc(), Address.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, person_id: int, address_id: int) -> Address | None:
        """One of this person's addresses (None if it is someone else's)."""
        address = await self.session.get(Address, address_id)
        return address if address and address.person_id == person_id else None

    async def remember(
        self, person_id: int, community: str, building: str, unit: str, room: str, now: datetime
    ) -> None:
        """Save or refresh an address."""
        await self.session.execute(
            upsert(self.session, Address)
            .values(
                person_id=person_id,
                community=community,
                building=building,
                unit=unit,
                room=room,
                last_used_at=now,
            )
            .on_conflict_do_update(
                index_elements=["person_id", "community", "building", "unit", "room"],
                set_={"last_used_at": now},
            )
        )


class Tickets:
    """Tickets, their photos and their event log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, community: str, day: str) -> int:
        """Take the next sequence number for a community's local day, atomically."""
        stmt = (
            upsert(self.session, TicketCounter)
            .values(community=community, day=day, last=1)
            .on_conflict_do_update(index_elements=["community", "day"], set_={"last": TicketCounter.last + 1})
            .returning(TicketCounter.last)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        """A ticket by id, optionally locked for update."""
        stmt = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_number(self, number: str) -> Ticket | None:
        """A ticket by its human-readable number."""
        stmt = select(Ticket).where(Ticket.number == number.strip().upper())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_resident(self, person_id: int, limit: int = 10) -> Sequence[Ticket]:
        """A resident's latest tickets."""
        stmt = (
            select(Ticket)
            .where(Ticket.resident_id == person_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def at_risk(
        self,
        until: datetime,
        statuses: Iterable[str],
        community: str | None = None,
        areas: Sequence[str] | None = None,
    ) -> list[tuple[Ticket, str, datetime]]:
        """Tickets in `statuses` with a deadline pending by `until`, one row per deadline, soonest first."""
        # Tickets first (ix_tickets_status_area: an area's open tickets are a handful however long its
        # history), then their timers: two small queries, so neither backend's planner can start from the
        # timers and read every community's deadlines to keep one area's (bench/RESULTS.md, figure 4). Only
        # ids at first: a manager of every community has thousands of open tickets, few of them at risk.
        ids = select(Ticket.id).where(Ticket.status.in_(sorted(statuses)))
        if community:
            ids = ids.where(Ticket.community == community)
        if areas:
            ids = ids.where(Ticket.area.in_(sorted(areas)))
        open_ids = (await self.session.execute(ids)).scalars().all()
        if not open_ids:
            return []
        stmt = (
            select(Ticket, Timer.kind, Timer.due_at)
            .join(Timer, Timer.ticket_id == Ticket.id)
            .where(Timer.ticket_id.in_(open_ids), Timer.status == "pending", Timer.due_at <= until)
            .order_by(Timer.due_at, Timer.id)
        )
        return [(ticket, kind, due) for ticket, kind, due in (await self.session.execute(stmt)).all()]

    async def listing(self, limit: int = 50, status: str | None = None) -> Sequence[Ticket]:
        """Latest tickets for the admin CLI."""
        stmt = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(Ticket.status == status)
        return (await self.session.execute(stmt)).scalars().all()

    async def photos(self, ticket_id: int, stage: str | None = None) -> Sequence[TicketPhoto]:
        """A ticket's photos in the order they came."""
        stmt = select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id).order_by(TicketPhoto.id)
        if stage:
            stmt = stmt.where(TicketPhoto.stage == stage)
        return (await self.session.execute(stmt)).scalars().all()

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        """A ticket's event log, oldest first."""
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return (await self.session.execute(stmt)).scalars().all()


class Outbox:
    """Pending and delivered outbound messages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delivered_id(self, channel: str, chat_id: str, ref: str) -> str | None:
        """The channel's message id of an earlier delivered message with this ref."""
        stmt = (
            select(OutboxMessage.channel_message_id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.ref == ref,
                OutboxMessage.status == "sent",
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark(self, message_id: int, **values: Any) -> None:
        """Update one outbox row."""
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
