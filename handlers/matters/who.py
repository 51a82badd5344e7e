"""Whether a complaint is about a member of staff (who then never sees it), and whether the resident stays
anonymous to the office."""

from __future__ import annotations

from sqlalchemy import select

from dispatch import staff
from handlers.context import Context
from handlers.dialog import Goto, Outcome
from handlers.matters.draft import draft, save
from storage.models import Person, Ticket

MAX_NAMED = 6


async def _people(ctx: Context) -> list[Person]:
    """Staff the resident has met (their tickets' technicians and handlers), and staff their words name."""
    text = str(draft(ctx).get("description") or "")
    met = (
        select(Ticket.technician_id, Ticket.handler_id)
        .where(Ticket.resident_id == ctx.person.id)
        .order_by(Ticket.id.desc())
        .limit(20)
    )
    ids = {i for row in (await ctx.session.execute(met)).all() for i in row if i is not None}
    stmt = select(Person).where(Person.active.is_(True), Person.role.in_([str(r) for r in staff.STAFF_ROLES]))
    everyone = list((await ctx.session.execute(stmt.order_by(Person.id))).scalars())
    named = [p for p in everyone if p.name and p.name in text]
    seen = [p for p in everyone if p.id in ids and p not in named]
    return (named + seen)[:MAX_NAMED]


async def prompt_about(ctx: Context) -> Goto | None:
    """For a complaint: is it about someone (only complaints ask)."""
    if draft(ctx).get("kind") != "complaint":
        return Goto("privacy")
    t = ctx.t
    options = [(f"p:{p.id}", p.name) for p in await _people(ctx)]
    options.append(("none", t("No, not about a person")))
    options.append(("other", t("Yes, someone else")))
    ctx.ask(
        t("Is the complaint about a member of our staff? They will not see it; their manager will."),
        options,
        columns=2,
    )
    return None


async def handle_about(ctx: Context, value: str | None) -> Outcome:
    """The person (re-checked: only staff offered for this resident), or nobody."""
    if value in ("none", "other"):
        save(ctx, {"about": None, "about_name": "", "about_someone": value == "other"})
        return Goto("privacy")
    offered = {f"p:{p.id}": p for p in await _people(ctx)}
    person = offered.get(value or "")
    if person is None:
        return False
    save(ctx, {"about": person.id, "about_name": person.name, "about_someone": True})
    return Goto("privacy")


async def prompt_privacy(ctx: Context) -> Goto | None:
    """Named or anonymous."""
    t = ctx.t
    ctx.ask(
        t(
            "May the office see your name and phone number? If you stay anonymous we can still answer you "
            "here, but nobody can call you."
        ),
        [("named", t("Yes, show my name")), ("anonymous", t("Stay anonymous"))],
        columns=1,
    )
    return None


async def handle_privacy(ctx: Context, value: str | None) -> Outcome:
    """Take the choice."""
    if value not in ("named", "anonymous"):
        return False
    save(ctx, {"anonymous": value == "anonymous"})
    return Goto("summary")
