"""The ways into intake: a new request (unless the resident reached today's cap), resuming one after /start.

The cap: a resident who already has `max_open_per_day` open tickets filed today is not taken into a new
intake; they are offered to add a note or photo to one of those tickets instead (the ticket dialog's "note"
action).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select

from dispatch.tokens import token_for
from handlers.buttons import ResidentTap, encode
from handlers.context import Context
from handlers.flood import CURRENT, InboundLimits
from handlers.intake import flow
from handlers.messages import Choice
from storage.models import Ticket

OPEN = (
    "submitted",
    "offered",
    "assigned",
    "scheduled",
    "en_route",
    "on_site",
    "on_hold",
    "in_progress",
    "rework",
)


async def open_today(ctx: Context) -> list[Ticket]:
    """The resident's open tickets filed since midnight in their community."""
    tz = ctx.community.timezone
    local = ctx.now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0, 0), tz)
    stmt = (
        select(Ticket)
        .where(Ticket.resident_id == ctx.person.id, Ticket.created_at >= midnight, Ticket.status.in_(OPEN))
        .order_by(Ticket.id)
    )
    return list((await ctx.session.execute(stmt)).scalars().all())


async def over_cap(ctx: Context, limits: InboundLimits) -> bool:
    """True (and the resident told what they can do instead) when they may not file another ticket today."""
    if limits.max_open_per_day <= 0:
        return False
    count = (
        await ctx.session.execute(
            select(func.count()).select_from(Ticket).where(Ticket.resident_id == ctx.person.id)
        )
    ).scalar_one()
    if count < limits.max_open_per_day:
        return False  # cheap exit for nearly everyone
    tickets = await open_today(ctx)
    if len(tickets) < limits.max_open_per_day:
        return False
    t = ctx.t
    buttons = []
    for ticket in tickets[-5:]:
        token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
        buttons.append(
            [
                Choice(
                    encode(ResidentTap(token, ResidentTap.NOTE)),
                    t("📝 Add to {number}", number=ticket.number),
                )
            ]
        )
    ctx.conv.dialog, ctx.conv.step, ctx.conv.nonce, ctx.conv.data = "", "", "", {}
    ctx.reply(
        t(
            "You already have {n} open requests from today, the most one person can file in a day. If this "
            "is about one of them, choose it to add a note or photo. For anything urgent, call the property "
            "office: {phone}.",
            n=len(tickets),
            phone=ctx.community.office_phone,
        ),
        buttons,
    )
    return True


async def start_intake(ctx: Context) -> None:
    """A new repair request, unless the resident has reached today's cap of open tickets."""
    if not await over_cap(ctx, CURRENT.get()):
        await flow.start(ctx)


RESUME = "resume"


def offer_resume(ctx: Context) -> bool:
    """After /start with a request half done: ask to continue or start over (True when asked)."""
    if ctx.conv.dialog != flow.NAME or not ctx.conv.step:
        return False
    ctx.ask(
        ctx.t("You have a repair request in progress. Continue where you left off, or start over?"),
        [("resume", ctx.t("Continue")), ("restart", ctx.t("Start over"))],
    )
    ctx.conv.step = "resume:" + ctx.conv.step
    ctx.conv.dialog = RESUME
    return True


async def resume_dialog(ctx: Context, value: str | None) -> None:
    """Continue the half-done request, start over, or take the answer as meant for the step it was in."""
    step = ctx.conv.step.removeprefix("resume:")
    if value == "resume":
        ctx.conv.dialog, ctx.conv.step = flow.NAME, step
        ctx.reply(ctx.t("Let's continue where you left off."))
        await flow.prompt(ctx)
    elif value == "restart":
        await flow.start(ctx)
    else:
        ctx.conv.dialog, ctx.conv.step = flow.NAME, step
        await flow.handle(ctx, value)
