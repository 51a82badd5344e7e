"""A photo sent outside any dialog: kept, and added to the open request the resident picks."""

from __future__ import annotations

from dispatch.lifecycle import log
from dispatch.notices import Notices
from handlers.context import Context, end_dialog
from handlers.photos import store_inbound_photo
from storage.models import Ticket, TicketPhoto
from storage.repositories import Tickets

ATTACH = "attach"


async def offer_attach(ctx: Context) -> bool:
    """A photo outside any dialog: keep it and ask which open request it belongs to."""
    open_tickets = [
        tk
        for tk in await Tickets(ctx.session).for_resident(ctx.person.id, limit=10)
        if tk.status not in ("closed", "cancelled", "rejected")
    ]
    if not open_tickets:
        return False
    sha = await store_inbound_photo(ctx)
    if sha is None:
        return True
    ctx.conv.dialog, ctx.conv.step = ATTACH, "which"
    ctx.conv.data = {"photo": sha}
    options = [(f"add:{tk.id}", tk.number) for tk in open_tickets[:5]] + [("none", ctx.t("Don't add it"))]
    ctx.ask(ctx.t("Add this photo to which request?"), options, columns=1)
    return True


async def attach_step(ctx: Context, value: str | None) -> None:
    """Add the kept photo to the chosen open request; the technician gets it."""
    sha = str(ctx.conv.data.get("photo", ""))
    end_dialog(ctx)
    ticket = await ctx.session.get(Ticket, int(value[4:])) if value and value.startswith("add:") else None
    if ticket is None or ticket.resident_id != ctx.person.id or not sha:
        ctx.reply(ctx.t("All right, the photo was not added."))
        return
    ctx.session.add(
        TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="note", added_by=ctx.person.id, added_at=ctx.now)
    )
    log(ctx.session, ticket, "resident_photo", now=ctx.now, actor_id=ctx.person.id)
    notices = Notices()
    if ticket.technician_id is not None:
        notices.person("resident_note", ticket.id, ticket.technician_id, photo=sha)
    ctx.tell(notices)
    ctx.reply(ctx.t("Added to {number}; the technician will see it.", number=ticket.number))
