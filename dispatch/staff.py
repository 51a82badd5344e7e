"""The staff registry: technicians, supervisors, managers, customer service; invites that bind chats."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, GroupBinding, Invite, Person
from storage.repositories import upsert

INVITE_LIFETIME = timedelta(hours=72)


class Role(StrEnum):
    """What a person does."""

    RESIDENT = "resident"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    CUSTOMER_SERVICE = "cs"


STAFF_ROLES = frozenset({Role.TECHNICIAN, Role.SUPERVISOR, Role.MANAGER, Role.CUSTOMER_SERVICE})
ROLE_ALIASES = {"customer_service": Role.CUSTOMER_SERVICE, "customer-service": Role.CUSTOMER_SERVICE}


class StaffError(Exception):
    """A staff operation that cannot be done; the message says why."""


def parse_role(value: str) -> Role:
    """A role from what an operator typed."""
    value = value.strip().lower()
    try:
        return ROLE_ALIASES.get(value) or Role(value)
    except ValueError:
        raise StaffError(f"unknown role {value!r} (technician, supervisor, manager, cs)") from None


def is_staff(person: Person) -> bool:
    """True for anyone but residents."""
    return person.role in STAFF_ROLES and person.active


def serves(person: Person, community: str | None) -> bool:
    """Staff of no community work for all of them; a community's own staff only for theirs."""
    return person.community is None or community is None or person.community == community


def oversees(person: Person, area: str, community: str | None = None) -> bool:
    """A supervisor or manager who answers for the area (no areas listed = all areas) of the community."""
    return (
        person.active
        and person.role in (Role.SUPERVISOR, Role.MANAGER)
        and (not person.areas or not area or area in person.areas)
        and serves(person, community)
    )


async def add(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    now: datetime,
    skills: Sequence[str] = (),
    areas: Sequence[str] = (),
    capacity: int = 8,
    community: str | None = None,
    telegram_id: str | None = None,
) -> Person:
    """Register a member of staff (names are unique among active staff)."""
    name = name.strip()
    if not name:
        raise StaffError("a name is needed")
    if await by_name(session, name) is not None:
        raise StaffError(f"there is already someone called {name!r}")
    if capacity < 1:
        raise StaffError("capacity must be at least 1")
    person = Person(
        name=name,
        role=str(role),
        skills=[s.strip() for s in skills if s.strip()],
        areas=[a.strip() for a in areas if a.strip()],
        capacity=capacity,
        community=community,
        on_duty=role == Role.TECHNICIAN,
        duty_changed_at=now,
        created_at=now,
    )
    session.add(person)
    await session.flush()
    if telegram_id:
        await bind_identity(session, person, "telegram", telegram_id, telegram_id, now=now)
    return person


async def by_name(session: AsyncSession, name: str) -> Person | None:
    """The active member of staff with this name."""
    stmt = select(Person).where(
        Person.name == name.strip(), Person.active.is_(True), Person.role.in_([str(r) for r in STAFF_ROLES])
    )
    return (await session.execute(stmt)).scalars().first()


async def listing(session: AsyncSession) -> Sequence[Person]:
    """All active staff by role and name."""
    stmt = (
        select(Person)
        .where(Person.active.is_(True), Person.role.in_([str(r) for r in STAFF_ROLES]))
        .order_by(Person.role, Person.name)
    )
    return (await session.execute(stmt)).scalars().all()


async def set_duty(session: AsyncSession, person: Person, on_duty: bool, now: datetime) -> bool:
    """Put a technician on or off duty; False when nothing changed."""
    if person.role != Role.TECHNICIAN:
        raise StaffError(f"{person.name} is not a technician")
    if person.on_duty == on_duty:
        return False
    person.on_duty = on_duty
    person.duty_changed_at = now
    return True


async def bind_identity(
    session: AsyncSession, person: Person, channel: str, external_id: str, chat_id: str, *, now: datetime
) -> ChannelIdentity:
    """Point a channel account at this person (moving it away from a placeholder resident)."""
    stmt = select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
    )
    identity = (await session.execute(stmt)).scalar_one_or_none()
    if identity is None:
        identity = ChannelIdentity(
            person_id=person.id, channel=channel, external_id=external_id, chat_id=chat_id, last_seen_at=now
        )
        session.add(identity)
    else:
        identity.person_id = person.id
        identity.last_seen_at = now
    await session.flush()
    return identity


async def invite(session: AsyncSession, person: Person, now: datetime) -> Invite:
    """A fresh one-time code for this person."""
    row = Invite(
        code=secrets.token_urlsafe(9), person_id=person.id, created_at=now, expires_at=now + INVITE_LIFETIME
    )
    session.add(row)
    await session.flush()
    return row


async def redeem(session: AsyncSession, code: str, now: datetime) -> Person:
    """Use an invite code once; raise StaffError when unknown, used or expired."""
    row = await session.get(Invite, code.strip(), with_for_update=True)
    if row is None:
        raise StaffError("unknown")
    if row.used_at is not None:
        raise StaffError("used")
    if row.expires_at <= now:
        raise StaffError("expired")
    row.used_at = now
    person = await session.get(Person, row.person_id)
    if person is None or not person.active:
        raise StaffError("unknown")
    return person


async def bind_group(
    session: AsyncSession,
    community: str,
    channel: str,
    purpose: str,
    chat_id: str,
    *,
    by: int | None,
    now: datetime,
) -> None:
    """Make a group chat the technicians' or supervisors' group of a community."""
    await session.execute(
        upsert(session, GroupBinding)
        .values(
            community=community, channel=channel, purpose=purpose, chat_id=chat_id, bound_by=by, bound_at=now
        )
        .on_conflict_do_update(
            index_elements=["community", "channel", "purpose"],
            set_={"chat_id": chat_id, "bound_by": by, "bound_at": now},
        )
    )


async def groups(session: AsyncSession, community: str, purpose: str) -> Sequence[GroupBinding]:
    """The bound groups of a purpose in a community, one per channel."""
    stmt = select(GroupBinding).where(GroupBinding.community == community, GroupBinding.purpose == purpose)
    return (await session.execute(stmt)).scalars().all()


async def group_purpose(session: AsyncSession, channel: str, chat_id: str) -> GroupBinding | None:
    """What a group chat is bound as, if anything."""
    stmt = select(GroupBinding).where(GroupBinding.channel == channel, GroupBinding.chat_id == chat_id)
    return (await session.execute(stmt)).scalars().first()


def in_community(community: str | None) -> ColumnElement[bool]:
    """SQL for `serves`: staff of this community or of none."""
    if community is None:
        return true()
    return or_(Person.community.is_(None), Person.community == community)


async def overseers(
    session: AsyncSession, area: str, role: Role, community: str | None = None
) -> list[Person]:
    """Supervisors (or managers) who answer for an area of a community."""
    stmt = (
        select(Person)
        .where(Person.role == str(role), Person.active.is_(True), in_community(community))
        .order_by(Person.id)
    )
    people = (await session.execute(stmt)).scalars().all()
    return [p for p in people if oversees(p, area, community)]
