"""/audit NUMBER for managers: who among the staff was shown the resident's phone or room, and when."""

from __future__ import annotations

from dispatch import staff
from dispatch.privacy import audit
from handlers.context import Context
from handlers.i18n import N_
from handlers.office.access import ticket_from_args
from handlers.technician.duty import ROLE_NAMES

SHOWINGS = {
    "job_details": N_("job details"),
    "job_card": N_("job card"),
    "ticket": N_("/ticket"),
    "matter_card": N_("matter card"),
    "followup": N_("follow-up call"),
    "export": N_("export"),
}
FIELDS = {audit.PHONE: N_("phone"), audit.ROOM: N_("room")}
SHOWN_MAX = 30


async def audit_command(ctx: Context) -> None:
    """/audit NUMBER: the ticket's contact-detail showings, newest first."""
    t = ctx.t
    if ctx.person.role != staff.Role.MANAGER or not ctx.person.active:
        ctx.reply(t("The audit of contact details is for managers."))
        return
    if not ctx.inbound.args.strip():
        ctx.reply(t("Send /audit NUMBER, e.g. /audit BX-20261123-0001."))
        return
    ticket = await ticket_from_args(ctx)
    if ticket is None:
        return
    rows = await audit.entries(ctx.session, ticket_id=ticket.id, limit=SHOWN_MAX)
    if not rows:
        ctx.reply(
            t("Nobody on the staff has been shown the contact details of {number}.", number=ticket.number)
        )
        return
    community = ctx.services.site.community(ticket.community) or ctx.community
    lines = [t("Contact details of {number} shown to:", number=ticket.number)]
    for row in rows:
        who = (
            f"{row.viewer} ({t(ROLE_NAMES.get(row.role, row.role))})"
            if row.viewer
            else t("the office's command line")
        )
        lines.append(
            " · ".join(
                [
                    row.at.astimezone(community.timezone).strftime("%m-%d %H:%M"),
                    who,
                    t(SHOWINGS.get(row.what, row.what)),
                    ", ".join(t(FIELDS.get(f, f)) for f in row.fields),
                ]
            )
        )
    ctx.reply("\n".join(lines))
