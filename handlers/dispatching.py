"""Glue between dialogs and the dispatch core: offer new tickets, render what dispatch wants said."""

from __future__ import annotations

from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from handlers import job_card, notices_closure, notices_dispatch  # noqa: F401  (register templates)
from handlers.common import on_submitted
from handlers.context import Context
from handlers.notify import render
from storage.models import Ticket


async def emit(ctx: Context, notices: Notices) -> None:
    """Render notices into this transaction's outbound messages."""
    ctx.out.extend(await render(ctx.session, ctx.services, notices))


@on_submitted
async def offer_new_ticket(ctx: Context, ticket: Ticket) -> None:
    """A filed ticket goes straight out to technicians (or into the queue)."""
    notices = Notices()
    community = ctx.services.site.community(ticket.community) or ctx.community
    await dispatch_ticket(ctx.session, community, ticket, ctx.now, notices)
    await emit(ctx, notices)
