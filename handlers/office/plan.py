"""/plan: planned maintenance due this week and what was missed, for a supervisor's areas or a manager's
communities."""

from __future__ import annotations

from dispatch.planned.outlook import Occurrence, outlook
from handlers.context import Context
from handlers.labels import status_name
from handlers.office.access import overseer


async def plan_command(ctx: Context) -> None:
    """/plan: this week's planned maintenance (with where each stands) and past work not done in time."""
    if not overseer(ctx):
        return
    found = await outlook(ctx.session, ctx.services.site, ctx.person, ctx.now)
    if not found.week and not found.missed:
        ctx.reply(ctx.t("No planned maintenance is due this week, and none was missed."))
        return
    lines = [ctx.t("🗓 Planned maintenance this week:")]
    lines += [_line(ctx, o) for o in found.week] or [ctx.t("Nothing is due this week.")]
    if found.missed:
        lines += ["", ctx.t("⚠️ Missed (past the deadline, not done):")]
        lines += [_line(ctx, o) for o in found.missed]
    ctx.reply("\n".join(lines))


def _line(ctx: Context, o: Occurrence) -> str:
    when = o.due.astimezone(o.community.timezone).strftime("%m-%d %H:%M")
    name = o.asset.display(ctx.t.language)
    if o.ticket is None:
        return ctx.t("· {when} {asset}: not opened yet", when=when, asset=name)
    return ctx.t(
        "· {when} {asset}: {number}, {status}",
        when=when,
        asset=name,
        number=o.ticket.number,
        status=status_name(o.ticket.status, ctx.t),
    )
