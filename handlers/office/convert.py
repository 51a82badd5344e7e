"""/convert NUMBER: a repair that is really a matter (报事), or a matter that needs a repair; staff convert
it, keeping its number and history."""

from __future__ import annotations

from dispatch.matters import conversion
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from dispatch.site.model import MATTER_KINDS
from handlers.context import Context, end_dialog
from handlers.labels import MATTER_KIND_NAMES, display
from handlers.office.access import office_staff, ticket_from_args
from handlers.refusals import refuse
from storage.models import Ticket

DIALOG = "convert"


async def convert_command(ctx: Context) -> None:
    """Ask what the request should become."""
    if not office_staff(ctx):
        return
    ticket = await ticket_from_args(ctx)
    if ticket is None:
        return
    t = ctx.t
    ctx.conv.dialog, ctx.conv.data = DIALOG, {"ticket": ticket.id}
    if ticket.kind == "matter":
        ctx.conv.step = "repair"
        ctx.ask(
            t("Send {number} to the technicians as a repair?", number=ticket.number),
            [("yes", t("Yes, it's a repair")), ("cancel", t("No"))],
        )
        return
    ctx.conv.step = "kind"
    options = [(k, t(MATTER_KIND_NAMES[k])) for k in MATTER_KINDS]
    ctx.ask(
        t("{number} is not a repair? Then what is it?", number=ticket.number),
        [*options, ("cancel", t("Cancel"))],
    )


async def convert_dialog(ctx: Context, value: str | None) -> None:
    """Kind then department (a repair becoming a matter), or the confirmation (a matter becoming a repair)."""
    ticket = await ctx.session.get(Ticket, int(ctx.conv.data.get("ticket", 0)))
    if ticket is None or value == "cancel":
        end_dialog(ctx)
        ctx.reply(ctx.t("All right, nothing changed."))
        return
    community, t, notices = ctx.services.site.community(ticket.community) or ctx.community, ctx.t, Notices()
    step = ctx.conv.step
    if step == "kind" and value in MATTER_KINDS:
        ctx.conv.step, ctx.conv.data = "department", {**ctx.conv.data, "kind": value}
        lang = t.language
        options = [(f"d:{d.code}", display(d, lang)) for d in community.matters.departments]
        ctx.ask(t("Which department should take it?"), [*options, ("cancel", t("Cancel"))])
        return
    if step in ("kind", "department") and not (value and (value in MATTER_KINDS or value.startswith("d:"))):
        ctx.reply(t("Please choose one of the options offered."))
        return
    kind = str(ctx.conv.data.get("kind", ""))
    end_dialog(ctx)
    try:
        if step == "department" and value:
            await conversion.to_matter(
                ctx.session, community, ticket, ctx.person, kind, value[2:], ctx.now, notices
            )
            ctx.reply(t("{number} is now a matter for that department.", number=ticket.number))
        elif step == "repair" and value == "yes":
            await conversion.to_repair(ctx.session, community, ticket, ctx.person, ctx.now, notices)
            ctx.reply(t("{number} has gone to the technicians as a repair.", number=ticket.number))
    except JobRefused as exc:
        refuse(ctx, exc)
    ctx.tell(notices)
