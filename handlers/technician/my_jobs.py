"""/jobs: the technician's held jobs, each with its card sent again at the bottom of the chat."""

from __future__ import annotations

from sqlalchemy import select

from dispatch import staff
from dispatch.lifecycle import HELD
from dispatch.notices import Notices
from handlers.context import Context
from handlers.labels import ticket_line
from storage.models import Ticket


async def jobs_command(ctx: Context) -> None:
    """/jobs: the technician's held jobs, each with its card re-sent."""
    if ctx.person.role != staff.Role.TECHNICIAN:
        ctx.reply(ctx.t("That command is for technicians."))
        return
    stmt = select(Ticket).where(
        Ticket.technician_id == ctx.person.id, Ticket.status.in_([str(s) for s in HELD])
    )
    tickets = (await ctx.session.execute(stmt.order_by(Ticket.created_at))).scalars().all()
    if not tickets:
        ctx.reply(ctx.t("You have no open jobs."))
        return
    ctx.reply("\n".join([ctx.t("Your open jobs:"), *(ticket_line(ctx, tk) for tk in tickets)]))
    notices = Notices()
    for ticket in tickets:
        notices.person("job_card", ticket.id, ctx.person.id, fresh=True)
    ctx.tell(notices)
