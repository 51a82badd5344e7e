"""Who may use the office's commands, and the ticket a command names."""

from __future__ import annotations

from dispatch import staff
from handlers.context import Context
from storage.models import Ticket
from storage.repositories import Tickets


def overseer(ctx: Context) -> bool:
    """Active supervisors and managers may go on; anyone else is told politely (False)."""
    if ctx.person.role in (staff.Role.SUPERVISOR, staff.Role.MANAGER) and ctx.person.active:
        return True
    ctx.reply(ctx.t("That command is for supervisors and managers."))
    return False


def office_staff(ctx: Context) -> bool:
    """Supervisors, managers and customer service may go on; anyone else is told politely (False)."""
    if ctx.person.role in (staff.Role.SUPERVISOR, staff.Role.MANAGER, staff.Role.CUSTOMER_SERVICE):
        return True
    ctx.reply(ctx.t("That command is for property staff."))
    return False


async def ticket_from_args(ctx: Context) -> Ticket | None:
    """The ticket named in the command's argument, or a polite reply and None."""
    number = ctx.inbound.args.strip()
    ticket = await Tickets(ctx.session).by_number(number) if number else None
    # A complaint about this member of staff does not exist for them.
    if ticket is not None and ticket.about_staff_id == ctx.person.id:
        ticket = None
    if ticket is None:
        ctx.reply(ctx.t("There is no request {number}.", number=number[:40] or "—"))
    return ticket
