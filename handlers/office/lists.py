"""The office's lists: /queue (waiting for a technician) and /overdue (late and at-risk tickets)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch import staff
from dispatch.lifecycle import OPEN
from dispatch.matters.routing import may_handle
from handlers.context import Context
from handlers.labels import category_name, ticket_line
from handlers.office.access import office_staff, overseer
from storage.models import Ticket
from storage.repositories import Tickets

AT_RISK = timedelta(minutes=30)


async def queue_command(ctx: Context) -> None:
    """/queue: unassigned tickets in the supervisor's areas, oldest first."""
    if not overseer(ctx):
        return
    stmt = (
        select(Ticket)
        .where(
            Ticket.status.in_(["submitted", "offered"]),
            Ticket.technician_id.is_(None),
            Ticket.kind == "repair",
        )
        .order_by(Ticket.created_at)
        .limit(30)
    )
    tickets = [
        tk
        for tk in (await ctx.session.execute(stmt)).scalars().all()
        if staff.oversees(ctx.person, tk.area, tk.community)
    ]
    if not tickets:
        ctx.reply(ctx.t("Nothing is waiting for a technician."))
        return
    lines = [ctx.t("Waiting for a technician:")]
    for tk in tickets:
        community = ctx.services.site.community(tk.community) or ctx.community
        waited = int((ctx.now - tk.created_at).total_seconds() // 60)
        lines.append(
            f"{tk.number} · {category_name(community, tk.category, ctx.t.language)} · "
            + ctx.t("{n} min", n=waited)
        )
    ctx.reply("\n".join(lines))


def _answers_for(ctx: Context, ticket: Ticket) -> bool:
    """A repair of the person's areas (any area for customer service), or a matter they may handle."""
    if ticket.kind == "matter":
        return may_handle(ctx.person, ticket, ctx.services.site.community(ticket.community) or ctx.community)
    return staff.oversees(ctx.person, ticket.area, ticket.community) or (
        ctx.person.role == staff.Role.CUSTOMER_SERVICE and staff.serves(ctx.person, ticket.community)
    )


async def overdue_command(ctx: Context) -> None:
    """/overdue: tickets of the supervisor's areas whose deadline has passed or is within 30 minutes."""
    if not office_staff(ctx):
        return
    areas = ctx.person.areas if ctx.person.role != staff.Role.CUSTOMER_SERVICE else None
    found = await Tickets(ctx.session).at_risk(
        ctx.now + AT_RISK, OPEN, ctx.person.community or None, areas or None
    )
    rows = [(ticket, kind, due) for ticket, kind, due in found if _answers_for(ctx, ticket)][:50]
    if not rows:
        ctx.reply(ctx.t("Nothing is overdue or at risk in your areas."))
        return
    lines = [ctx.t("Overdue or at risk:")]
    for ticket, kind, due in rows:
        minutes = int((ctx.now - due).total_seconds() // 60)
        state = ctx.t("{n} min late", n=minutes) if minutes >= 0 else ctx.t("due in {n} min", n=-minutes)
        lines.append(f"{ticket_line(ctx, ticket)} · {kind} · {state}")
    ctx.reply("\n".join(lines))
