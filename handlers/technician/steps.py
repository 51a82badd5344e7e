"""What every step on a held job shares: finding the ticket the technician still holds, finishing a step."""

from __future__ import annotations

from dispatch.incidents import progress
from dispatch.notices import Notices
from handlers.context import Context, end_dialog
from storage.models import Ticket


async def held_ticket(ctx: Context, ticket_id: int) -> Ticket | None:
    """The ticket if this person still holds it."""
    ticket = await ctx.session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or ticket.technician_id != ctx.person.id:
        ctx.reply(ctx.t("This job is no longer yours."))
        return None
    return ticket


async def after_step(ctx: Context, ticket: Ticket, notices: Notices, done: str) -> None:
    """Confirm to the technician, refresh the card, send what the step caused."""
    end_dialog(ctx)
    # The technician works an incident once: what its resident is told reaches every linked reporter.
    await progress.relay(ctx.session, ticket, notices)
    notices.person("job_card", ticket.id, ctx.person.id)
    # The card is updated before the confirmation, so it is current by the time the technician reads it.
    ctx.tell(notices)
    ctx.reply(done)
