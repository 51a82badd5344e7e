"""One ticket for the office: /ticket NUMBER (the full record and its log), /reopen NUMBER."""

from __future__ import annotations

from dispatch import closing
from dispatch.notices import Notices
from dispatch.privacy import audit
from dispatch.repair.rules import JobRefused
from handlers.context import Context
from handlers.labels import address_label, money, ticket_line
from handlers.office.access import office_staff, ticket_from_args
from handlers.office.incidents import offer_declare
from handlers.refusals import refuse
from handlers.timeline import timeline


async def ticket_command(ctx: Context) -> None:
    """/ticket NUMBER: the full record and event log."""
    if not office_staff(ctx):
        return
    ticket = await ticket_from_args(ctx)
    if ticket is None:
        return
    community = ctx.services.site.community(ticket.community) or ctx.community
    where = (
        ticket.location_text
        if ticket.scope == "public"
        else address_label(community, ticket.building, ticket.unit, ticket.room, ctx.t.language)
    )
    audit.record(
        ctx.session,
        viewer_id=ctx.person.id,
        ticket=ticket,
        what="ticket",
        fields=audit.shown(ticket, room=ticket.scope != "public"),
        via=ctx.inbound.identity.channel,
        now=ctx.now,
    )
    lines = [
        ticket_line(ctx, ticket),
        ctx.t("Address: {where}", where=where),
        ctx.t("Phone: {phone}", phone=ticket.phone),
        ctx.t("Problem: {text}", text=ticket.description),
    ]
    if ticket.fee_cents or ticket.labour_minutes:
        lines.append(
            ctx.t(
                "Fee {fee}, labour {n} min, materials: {materials}",
                fee=money(ticket.fee_cents),
                n=ticket.labour_minutes,
                materials=ticket.materials or "—",
            )
        )
    if ticket.rating is not None:
        lines.append(ctx.t("Rating: {rating}/5 {comment}", rating=ticket.rating, comment=ticket.comment))
    lines.append(ctx.t("Event log:"))
    lines += await timeline(ctx, ticket, staff=True)
    actions = offer_declare(ctx, ticket)
    if actions:
        ctx.ask("\n".join(lines), actions, columns=1)
    else:
        ctx.reply("\n".join(lines))


async def reopen_command(ctx: Context) -> None:
    """/reopen NUMBER: rework by the same technician."""
    if not office_staff(ctx):
        return
    ticket = await ticket_from_args(ctx)
    if ticket is None:
        return
    notices = Notices()
    try:
        await closing.reopen(ctx.session, ticket, ctx.person, ctx.now, notices)
    except JobRefused as exc:
        refuse(ctx, exc)
        return
    ctx.reply(ctx.t("{number} is reopened for rework.", number=ticket.number))
    ctx.tell(notices)
