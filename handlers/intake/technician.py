"""Intake, optionally: the resident names a technician, who then gets the offer first and alone."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.offers.candidates import qualifies
from dispatch.staff import Role
from handlers.context import Context
from handlers.intake.draft import Goto, Outcome, draft, save
from storage.models import Person, Ticket

MAX_CHOICES = 8


async def _qualified(ctx: Context) -> list[Person]:
    d = draft(ctx)
    community = ctx.community
    building = community.building(d.get("building") or "")
    probe = Ticket(category=d.get("category") or "", area=building.area if building else "")
    stmt = (
        select(Person)
        .where(Person.role == str(Role.TECHNICIAN), Person.active.is_(True))
        .order_by(Person.name)
    )
    people = (await ctx.session.execute(stmt)).scalars().all()
    return [p for p in people if not qualifies(p, community, probe)][:MAX_CHOICES]


async def prompt_technician(ctx: Context) -> Goto | None:
    """Technicians who could do this job, plus "no preference"."""
    people = await _qualified(ctx)
    if not people:
        ctx.reply(ctx.t("No technician can be chosen for this job right now; we'll send whoever is free."))
        save(ctx, {"named_technician": None, "named_name": None})
        return Goto("summary")
    options = [("tech:none", ctx.t("No preference"))] + [(f"tech:{p.id}", p.name) for p in people]
    ctx.ask(ctx.t("Would you like a particular technician? They get your request first."), options, columns=2)
    return None


async def handle_technician(ctx: Context, value: str | None) -> Outcome:
    """Take the choice; the person must still qualify (buttons are re-checked, not trusted)."""
    if not value or not value.startswith("tech:"):
        return False
    choice = value[5:]
    if choice == "none":
        save(ctx, {"named_technician": None, "named_name": None})
    else:
        person = next((p for p in await _qualified(ctx) if str(p.id) == choice), None)
        if person is None:
            ctx.reply(ctx.t("That technician isn't available for this job any more."))
            return await prompt_technician(ctx) or True
        save(ctx, {"named_technician": person.id, "named_name": person.name})
    return Goto("summary")
