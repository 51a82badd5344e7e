"""The job card's buttons: each re-authorised, then its step starts (at once, or as a short dialog)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dispatch.notices import Notices
from dispatch.repair import visit
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup
from handlers.buttons import JobTap
from handlers.context import Context, end_dialog
from handlers.refusals import refuse
from handlers.technician import checklist, complete, hold
from handlers.technician import visit as visit_steps
from handlers.technician.steps import after_step, held_ticket
from handlers.templates.job_card import contacted, valid_actions, work
from storage.models import Ticket

DIALOG = "job"


async def job_button(ctx: Context, tap: JobTap) -> None:
    """A step on the card, re-authorised against the token's ticket and the current status."""
    action = tap.action
    row = await lookup(ctx.session, tap.token, "job")
    if row is None or row.ticket_id is None or row.target_id != ctx.person.id:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ticket = await held_ticket(ctx, row.ticket_id)
    if ticket is None:
        return
    if action not in valid_actions(ticket.status, contacted(ticket), work(ticket)):
        ctx.answer_tap(ctx.t("That step is no longer available."))
        notices = Notices()
        notices.person("job_card", ticket.id, ctx.person.id)
        ctx.tell(notices)
        return
    ctx.answer_tap()
    ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, action, {"ticket": ticket.id}
    await STARTS[action](ctx, ticket)


async def _immediate(ctx: Context, ticket: Ticket, action: str) -> None:
    notices = Notices()
    try:
        if action == "contacted":
            await visit.contacted(ctx.session, ticket, ctx.person, ctx.now)
            done = ctx.t("Noted: you have contacted the resident of {number}.", number=ticket.number)
        elif action == "start":
            await visit.start_work(ctx.session, ticket, ctx.person, ctx.now)
            done = ctx.t("Work on {number} has started.", number=ticket.number)
        else:
            community = ctx.services.site.community(ticket.community) or ctx.community
            await visit.resume(ctx.session, ticket, ctx.person, ctx.now, notices, community)
            done = ctx.t("{number} is back in progress; the resident has been told.", number=ticket.number)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    await after_step(ctx, ticket, notices, done)


async def job_dialog(ctx: Context, value: str | None) -> None:
    """Route the technician's input to the step they are in."""
    ticket = await held_ticket(ctx, int(ctx.conv.data.get("ticket", 0)))
    if ticket is None:
        end_dialog(ctx)
        return
    step = STEPS.get(ctx.conv.step)
    if step is None:
        end_dialog(ctx)
        return
    await step(ctx, ticket, value)


async def _contacted(ctx: Context, ticket: Ticket) -> None:
    await _immediate(ctx, ticket, "contacted")


async def _start(ctx: Context, ticket: Ticket) -> None:
    await _immediate(ctx, ticket, "start")


async def _resume(ctx: Context, ticket: Ticket) -> None:
    await _immediate(ctx, ticket, "resume")


STARTS: dict[str, Callable[[Context, Ticket], Awaitable[None]]] = {
    "contacted": _contacted,
    "start": _start,
    "resume": _resume,
    "appt": visit_steps.start_appt,
    "way": visit_steps.start_way,
    "arrived": checklist.start_arrived,
    "checklist": checklist.start_checklist,
    "hold": hold.start_hold,
    "handback": hold.start_handback,
    "quote": complete.start_quote,
    "complete": complete.start_complete,
}


STEPS: dict[str, Callable[[Context, Ticket, str | None], Awaitable[None]]] = {
    "appt": visit_steps.step_appt,
    "appt_reason": visit_steps.step_appt_reason,
    "way": visit_steps.step_way,
    "arrived": visit_steps.step_arrived,
    "hold": hold.step_hold,
    "hold_until": hold.step_hold,
    "handback": hold.step_handback,
    **complete.STEPS,
    **checklist.STEPS,
}
