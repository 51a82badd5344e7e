"""Whose tickets a report counts: a community, some areas, one technician, or the whole deployment."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, and_, true

from dispatch import staff
from storage.models import Person, Ticket

# Who may see figures at all (supervisors their areas, managers their communities).
VIEWERS = (staff.Role.SUPERVISOR, staff.Role.MANAGER)


@dataclass(frozen=True)
class Scope:
    """None means "every": every community, every area. A technician narrows to the jobs they hold."""

    community: str | None = None
    areas: tuple[str, ...] | None = None
    technician_id: int | None = None

    def where(self) -> ColumnElement[bool]:
        """SQL for tickets in this scope."""
        parts: list[ColumnElement[bool]] = []
        if self.community is not None:
            parts.append(Ticket.community == self.community)
        if self.areas is not None:
            parts.append(Ticket.area.in_(sorted(self.areas)))
        if self.technician_id is not None:
            parts.append(Ticket.technician_id == self.technician_id)
        return and_(true(), *parts)

    def holds(self, community: str, area: str) -> bool:
        """True when a ticket of this community and area is in the scope."""
        return (self.community is None or community == self.community) and (
            self.areas is None or area in self.areas
        )


def may_view(person: Person) -> bool:
    """Active supervisors and managers see figures; residents and technicians do not."""
    return person.active and person.role in VIEWERS


def scope_of(person: Person) -> Scope:
    """What a supervisor or manager answers for: their community (all when none) and areas (all when none)."""
    return Scope(community=person.community, areas=tuple(person.areas) if person.areas else None)


def narrow(scope: Scope, community: str | None = None, area: str | None = None) -> Scope | None:
    """The scope limited to a community and/or an area (filters on the dashboard); None when that lies
    outside what the scope allows."""
    if community:
        if scope.community is not None and community != scope.community:
            return None
        scope = replace(scope, community=community)
    if area:
        if scope.areas is not None and area not in scope.areas:
            return None
        scope = replace(scope, areas=(area,))
    return scope
