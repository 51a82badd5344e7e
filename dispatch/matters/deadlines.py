"""What a matter's deadlines do when they fall due: the manager pinged once when nobody accepted it in time;
the resident told honestly, and the manager pinged, when it was not answered by the promised time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.lifecycle import Status, log
from dispatch.matters.routing import managers
from dispatch.notices import Notices
from dispatch.site import Community
from storage.models import Ticket, Timer


def _late(now: datetime, due: datetime) -> int:
    return max(0, int((now - due).total_seconds() // 60))


async def not_accepted(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices
) -> str:
    """Still waiting for its department: the managers are told (one ping per timer, so once per window)."""
    if t.kind != "matter" or t.status != Status.SUBMITTED:
        return "moot"
    people = await managers(s, c, exclude=t.about_staff_id)
    for person in people:
        n.person("matter_escalate_manager", t.id, person.id, late=_late(now, timer.created_at))
    log(s, t, "escalated", now=now, actor_id=None, level="manager", to=[p.id for p in people])
    return "manager"


async def not_answered(
    s: AsyncSession, c: Community, t: Ticket, timer: Timer, now: datetime, n: Notices
) -> str:
    """No answer by the promised time: the resident hears it honestly, the managers are pinged."""
    if t.kind != "matter" or t.status not in (Status.SUBMITTED, Status.ASSIGNED):
        return "moot"
    n.person("matter_late_resident", t.id, t.resident_id)
    people = await managers(s, c, exclude=t.about_staff_id)
    for person in people:
        n.person("matter_late_manager", t.id, person.id, late=_late(now, timer.created_at))
    log(s, t, "answer_late", now=now, actor_id=None, to=[p.id for p in people])
    return "late"
