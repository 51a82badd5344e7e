"""Queries the rest of the code needs, in SQLAlchemy 2 style, one class per aggregate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NotRequired, TypedDict, Unpack, cast

from sqlalchemy import Insert, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Address,
    ChannelIdentity,
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
