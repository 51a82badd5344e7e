"""Demo staff for the built-in demo community, so a newcomer can play the whole loop at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.staff import Role

DEMO_STAFF = (
    (Role.TECHNICIAN, "张师傅", ("plumbing_electric", "civil_carpentry", "general"), ("north", "south")),
    (Role.TECHNICIAN, "李师傅", ("plumbing_electric", "hvac"), ("south",)),
    (Role.TECHNICIAN, "王师傅", ("elevator", "fire", "general"), ()),
    (Role.SUPERVISOR, "陈主管", (), ()),
    (Role.MANAGER, "刘经理", (), ()),
    (Role.CUSTOMER_SERVICE, "客服小周", (), ()),
)


async def seed_demo_staff(session: AsyncSession, now: datetime) -> list[str]:
    """Add the demo staff when nobody is registered yet; return the names added."""
    if await staff.listing(session):
        return []
    added = []
    for role, name, skills, areas in DEMO_STAFF:
        await staff.add(session, role=role, name=name, now=now, skills=skills, areas=areas)
        added.append(name)
    return added
