"""What a sweep reads once for its whole batch of due timers: the tickets, the staff the timers tell, the
supervisors' groups and the workloads that rank technicians.

Asked timer by timer, these lookups were most of a sweep's queries (some 350 of 450 for 100 timers). The
answers are taken in the sweep's transaction and stay true while it fires the batch: no ticket's deadline
assigns a ticket, changes staff or binds a group (a scheduled job might, so `forget` drops them after one).
A lookup the batch did not announce is read when first asked and kept, so the answers are always those of
the per-timer queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.offers.candidates import Candidate, Workload, local_midnight, order, qualifies, workloads
from dispatch.site import Community, Site
from dispatch.staff import Role
from storage.models import GroupBinding, Person, Ticket, Timer

SUPERVISORS = "supervisors"


@dataclass(frozen=True)
class Needs:
    """What firing a kind of timer reads: staff of these roles in the ticket's community, the community's
    supervisors' groups, and the ranking of its technicians."""

    roles: tuple[Role, ...] = ()
    groups: bool = False
    rank: bool = False


class Roster:
    """Staff, groups and workloads for one batch, loaded in a few queries by `load`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._members: dict[tuple[str, str], list[Person]] = {}
        self._groups: dict[tuple[str, str], list[GroupBinding]] = {}
        self._loads: dict[tuple[int, datetime], Workload] = {}
        # The session's identity map holds unchanged objects only weakly: what the batch loaded for later
        # session.get() calls (tickets, the technicians the notices name) stays loaded while it is held here.
        self._held: list[object] = []

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        site: Site,
        due: Sequence[Timer],
        needs: dict[str, Needs],
        now: datetime,
    ) -> Roster:
        """The roster for these timers: their tickets (into the session), then what their kinds need."""
        roster = cls(session)
        ids = {t.ticket_id for t in due if t.ticket_id is not None}
        if not ids:
            return roster
        tickets = (await session.execute(select(Ticket).where(Ticket.id.in_(ids)))).scalars().all()
        roster._held.extend(tickets)
        by_id = {t.id: t for t in tickets}
        wanted: dict[Role, set[str]] = {}
        grouped: set[str] = set()
        ranked: dict[str, Community] = {}
        for timer in due:
            ticket = by_id.get(timer.ticket_id or 0)
            need = needs.get(timer.kind)
            if ticket is None or need is None:
                continue
            for role in need.roles + ((Role.TECHNICIAN,) if need.rank else ()):
                wanted.setdefault(role, set()).add(ticket.community)
            if need.groups:
                grouped.add(ticket.community)
            if need.rank:
                ranked[ticket.community] = site.community(ticket.community) or site.default
        holders = {t.technician_id for t in tickets if t.technician_id is not None}
        await roster._load_people(wanted, holders)
        await roster._load_groups(grouped)
        await roster._load_workloads(ranked.values(), now)
        return roster

    def forget(self) -> None:
        """Drop every answer (something may have changed staff); later lookups query again."""
        self._members.clear()
        self._groups.clear()
        self._loads.clear()

    async def overseers(self, area: str, role: Role, community: str) -> list[Person]:
        """As staff.overseers."""
        return [p for p in await self._of(role, community) if staff.oversees(p, area, community)]

    async def customer_service(self, community: str) -> list[Person]:
        """Active customer service serving the community."""
        return list(await self._of(Role.CUSTOMER_SERVICE, community))

    async def groups(self, community: str, purpose: str) -> list[GroupBinding]:
        """As staff.groups."""
        key = (community, purpose)
        if key not in self._groups:
            self._groups[key] = list(await staff.groups(self.session, community, purpose))
        return self._groups[key]

    async def rank(
        self, community: Community, ticket: Ticket, now: datetime, *, include_full: bool = False
    ) -> list[Candidate]:
        """As candidates.rank."""
        people = [
            p for p in await self._of(Role.TECHNICIAN, community.code) if not qualifies(p, community, ticket)
        ]
        midnight = local_midnight(now, community)
        if missing := [p.id for p in people if (p.id, midnight) not in self._loads]:
            await self._add_loads(missing, midnight)
        loads = {p.id: self._loads[(p.id, midnight)] for p in people}
        return order(people, loads, include_full=include_full)

    async def _of(self, role: Role, community: str) -> list[Person]:
        """Active staff of a role serving the community (its own and those of no community), by id."""
        key = (str(role), community)
        if key not in self._members:
            stmt = (
                select(Person)
                .where(Person.role == str(role), Person.active.is_(True), staff.in_community(community))
                .order_by(Person.id)
            )
            self._members[key] = list((await self.session.execute(stmt)).scalars().all())
        return self._members[key]

    async def _load_people(self, wanted: dict[Role, set[str]], holders: set[int]) -> None:
        """One query for the wanted roles' staff of their communities and the tickets' technicians (whom the
        notices name)."""
        serving = [
            and_(
                Person.role == str(role),
                Person.active.is_(True),
                or_(Person.community.is_(None), Person.community.in_(sorted(communities))),
            )
            for role, communities in wanted.items()
        ]
        if holders:
            serving.append(Person.id.in_(sorted(holders)))
        if not serving:
            return
        people = (await self.session.execute(select(Person).where(or_(*serving)))).scalars().all()
        self._held.extend(people)
        by_place: dict[tuple[str, str | None], list[Person]] = {}
        for person in people:
            if person.active:
                by_place.setdefault((person.role, person.community), []).append(person)
        for role, communities in wanted.items():
            everywhere = by_place.get((str(role), None), [])
            for community in communities:
                own = by_place.get((str(role), community), [])
                self._members[(str(role), community)] = sorted(own + everywhere, key=lambda p: p.id)

    async def _load_groups(self, communities: set[str]) -> None:
        if not communities:
            return
        stmt = select(GroupBinding).where(
            GroupBinding.community.in_(sorted(communities)), GroupBinding.purpose == SUPERVISORS
        )
        found = (await self.session.execute(stmt)).scalars().all()
        for community in communities:
            self._groups[(community, SUPERVISORS)] = [g for g in found if g.community == community]

    async def _load_workloads(self, communities: Iterable[Community], now: datetime) -> None:
        """Every technician of the ranking communities, per local midnight (one unless time zones differ)."""
        by_midnight: dict[datetime, set[int]] = {}
        for community in communities:
            ids = by_midnight.setdefault(local_midnight(now, community), set())
            ids.update(p.id for p in await self._of(Role.TECHNICIAN, community.code))
        for midnight, ids in by_midnight.items():
            if ids:
                await self._add_loads(sorted(ids), midnight)

    async def _add_loads(self, ids: Sequence[int], midnight: datetime) -> None:
        for person_id, load in (await workloads(self.session, ids, midnight)).items():
            self._loads[(person_id, midnight)] = load
