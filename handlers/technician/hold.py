"""Pausing a job (on hold, with a reason and an expected date) and handing it back to the pool."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dispatch.notices import Notices
from dispatch.offers import assignment
from dispatch.repair import visit
from dispatch.repair.rules import JobRefused
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.labels import HOLD_NAMES
from handlers.refusals import refuse
from handlers.technician.steps import after_step
from storage.models import Ticket

HANDBACK_NAMES = {
    "other_trade": N_("needs another trade"),
    "unreachable": N_("can't reach the resident"),
    "too_far": N_("can't get there in time"),
    "other": N_("other reason"),
}


async def start_hold(ctx: Context, ticket: Ticket) -> None:
    """Ask why the job pauses."""
    ctx.ask(
        ctx.t("Why is the job on hold?"), [(f"hr:{k}", ctx.t(v)) for k, v in HOLD_NAMES.items()], columns=2
    )


async def step_hold(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Reason, then the expected date."""
    if ctx.conv.step == "hold":
        if not value or not value.startswith("hr:") or value[3:] not in HOLD_NAMES:
            ctx.reply(ctx.t("Please choose a reason."))
            return
        ctx.conv.step = "hold_until"
        ctx.conv.data = {**ctx.conv.data, "reason": value[3:]}
        options = [(f"hu:{d}", ctx.t("in {n} day(s)", n=d)) for d in (1, 2, 3, 7)]
        ctx.ask(
            ctx.t("When do you expect to continue?"), [*options, ("hu:0", ctx.t("Not sure yet"))], columns=3
        )
        return
    if not value or not value.startswith("hu:") or not value[3:].isdigit():
        ctx.reply(ctx.t("Please choose one of the buttons."))
        return
    days = int(value[3:])
    community = ctx.services.site.community(ticket.community) or ctx.community
    until = None
    if days:
        day = ctx.now.astimezone(community.timezone).date() + timedelta(days=days)
        until = datetime.combine(day, time(9), community.timezone)
    notices = Notices()
    try:
        await visit.hold(ctx.session, ticket, ctx.person, ctx.conv.data["reason"], until, ctx.now, notices)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    await after_step(
        ctx, ticket, notices, ctx.t("{number} is on hold; the resident has been told.", number=ticket.number)
    )


async def start_handback(ctx: Context, ticket: Ticket) -> None:
    """Ask why the job goes back."""
    ctx.ask(
        ctx.t("Why are you handing the job back? It will be offered to other technicians."),
        [(f"hb:{k}", ctx.t(v)) for k, v in HANDBACK_NAMES.items()] + [("hb:keep", ctx.t("Keep the job"))],
        columns=2,
    )


async def step_handback(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Return the job to dispatch."""
    if value == "hb:keep":
        end_dialog(ctx)
        ctx.reply(ctx.t("All right, the job stays with you."))
        return
    if not value or not value.startswith("hb:") or value[3:] not in HANDBACK_NAMES:
        ctx.reply(ctx.t("Please choose a reason."))
        return
    notices = Notices()
    community = ctx.services.site.community(ticket.community) or ctx.community
    try:
        await assignment.hand_back(ctx.session, community, ticket, ctx.person, value[3:], ctx.now, notices)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    await after_step(ctx, ticket, notices, ctx.t("{number} has been handed back.", number=ticket.number))
