"""Patrol finds: /patrol for any member of staff, and the supervisor's check that closes one."""

from __future__ import annotations

from dispatch import patrols
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup
from handlers.buttons import CheckTap
from handlers.context import Context
from handlers.intake.flow import start_patrol
from handlers.refusals import refuse
from storage.models import Ticket


async def patrol_command(ctx: Context) -> None:
    """/patrol: report a fault found on one's rounds, in a public area."""
    if not patrols.may_patrol(ctx.person):
        ctx.reply(ctx.t("/patrol is for property staff. To report a repair, send /repair."))
        return
    await start_patrol(ctx)


async def check_button(ctx: Context, tap: CheckTap) -> None:
    """Fixed / Not fixed on a patrol find, re-authorised against the token and the checker's area."""
    row = await lookup(ctx.session, tap.token, "check")
    if row is None or row.ticket_id is None or row.target_id != ctx.person.id:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ticket = await ctx.session.get(Ticket, row.ticket_id, populate_existing=True)
    if ticket is None or tap.verdict not in (CheckTap.FIXED, CheckTap.NOT_FIXED):
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    notices = Notices()
    fixed = tap.verdict == CheckTap.FIXED
    try:
        await patrols.check(ctx.session, ticket, ctx.person, fixed, ctx.now, notices)
    except JobRefused as exc:
        ctx.answer_tap()
        if exc.reason == "status":
            ctx.reply(ctx.t("{number} has already been checked.", number=ticket.number))
        else:
            refuse(ctx, exc)
        return
    ctx.answer_tap()
    if fixed:
        ctx.reply(ctx.t("{number} is closed. Thank you for checking.", number=ticket.number))
    else:
        ctx.reply(ctx.t("{number} goes back to the technician as rework.", number=ticket.number))
    ctx.tell(notices)
