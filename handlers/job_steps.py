"""Job-card buttons and the short dialogs behind them (time, ETA, code, hold, quote, hand back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta

from dispatch.notices import Notices
from dispatch.offers import assignment
from dispatch.repair import visit
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup
from handlers import job_complete
from handlers.common import end_dialog
from handlers.context import Context
from handlers.dispatching import emit
from handlers.i18n import N_
from handlers.job_card import HOLD_NAMES, valid_actions
from handlers.job_common import after_step, held_ticket, refuse
from handlers.messages import Kind
from handlers.router import BUTTONS, DIALOGS
from handlers.validate import fold_width
from storage.models import Ticket

DIALOG = "job"
HANDBACK_NAMES = {
    "other_trade": N_("needs another trade"),
    "unreachable": N_("can't reach the resident"),
    "too_far": N_("can't get there in time"),
    "other": N_("other reason"),
}
MOVE_REASONS = {
    "resident": N_("the resident asked"),
    "parts": N_("waiting for parts"),
    "overrun": N_("the previous job overran"),
    "other": N_("other reason"),
}


async def job_button(ctx: Context, rest: str) -> None:
    """`j:<token>:<action>`: re-authorised against the token's ticket and the current status."""
    token, _, action = rest.partition(":")
    row = await lookup(ctx.session, token, "job")
    if row is None or row.ticket_id is None or row.target_id != ctx.person.id:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ticket = await held_ticket(ctx, row.ticket_id)
    if ticket is None:
        return
    if action not in valid_actions(ticket.status, ticket.contacted_at is not None):
        ctx.answer_tap(ctx.t("That step is no longer available."))
        notices = Notices()
        notices.person("job_card", ticket.id, ctx.person.id)
        await emit(ctx, notices)
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


def appointment_slots(ctx: Context, ticket: Ticket) -> list[tuple[str, str]]:
    """The next few sensible visit times in the community's clock."""
    community = ctx.services.site.community(ticket.community) or ctx.community
    local = ctx.now.astimezone(community.timezone)
    slots: list[tuple[str, str]] = []
    for day in range(3):
        date = local.date() + timedelta(days=day)
        for hour in (9, 11, 14, 16, 19):
            at = datetime.combine(date, time(hour), community.timezone)
            if at > local + timedelta(minutes=30):
                slots.append((f"at:{at.isoformat()}", at.strftime("%m-%d %H:%M")))
    return slots[:8]


def parse_time(ctx: Context, ticket: Ticket, text: str) -> datetime | None:
    """A typed time: "14:30" (today, or tomorrow if past), "11-24 14:30" or "2026-11-24 14:30"."""
    community = ctx.services.site.community(ticket.community) or ctx.community
    local = ctx.now.astimezone(community.timezone)
    text = fold_width(text).replace("：", ":")
    for fmt in ("%Y-%m-%d %H:%M", "%m-%d %H:%M", "%H:%M"):
        try:
            # Only the wall-clock fields are used; the community's zone is attached below.
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007
        except ValueError:
            continue
        if fmt == "%H:%M":
            at = datetime.combine(local.date(), parsed.time(), community.timezone)
            return at if at > local else at + timedelta(days=1)
        year = parsed.year if fmt.startswith("%Y") else local.year
        return datetime.combine(parsed.date().replace(year=year), parsed.time(), community.timezone)
    return None


async def start_appt(ctx: Context, ticket: Ticket) -> None:
    """Ask for the visit time."""
    ctx.ask(
        ctx.t("When will you visit? Choose a time or type one (for example 14:30 or 11-24 09:00)."),
        appointment_slots(ctx, ticket),
        columns=2,
    )


async def step_appt(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Take the time; a move also needs a reason for the resident."""
    at = datetime.fromisoformat(value[3:]) if value and value.startswith("at:") else None
    if at is None and ctx.inbound.kind == Kind.TEXT:
        at = parse_time(ctx, ticket, ctx.inbound.text.strip())
    if at is None:
        ctx.reply(ctx.t("Please choose a time below or type one like 14:30."))
        await start_appt(ctx, ticket)
        return
    if ticket.appointment_at is not None and ticket.status == "scheduled":
        ctx.conv.step = "appt_reason"
        ctx.conv.data = {**ctx.conv.data, "at": at.isoformat()}
        ctx.ask(
            ctx.t("Why does the appointment move? The resident will be told."),
            [(f"why:{k}", ctx.t(v)) for k, v in MOVE_REASONS.items()],
            columns=2,
        )
        return
    await _set_appt(ctx, ticket, at, "")


async def step_appt_reason(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Take the reason and move the appointment."""
    if not value or not value.startswith("why:") or value[4:] not in MOVE_REASONS:
        ctx.reply(ctx.t("Please choose a reason."))
        return
    await _set_appt(ctx, ticket, datetime.fromisoformat(ctx.conv.data["at"]), value[4:])


async def _set_appt(ctx: Context, ticket: Ticket, at: datetime, reason: str) -> None:
    notices = Notices()
    try:
        await visit.set_appointment(
            ctx.session, ticket, ctx.person, at, ctx.now, notices, ctx.services.policy, reason=reason
        )
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    community = ctx.services.site.community(ticket.community) or ctx.community
    when = at.astimezone(community.timezone).strftime("%m-%d %H:%M")
    await after_step(
        ctx,
        ticket,
        notices,
        ctx.t("Appointment for {number}: {at}. The resident has been told.", number=ticket.number, at=when),
    )


async def start_way(ctx: Context, ticket: Ticket) -> None:
    """Ask for the ETA."""
    ctx.ask(
        ctx.t("When will you be there?"),
        [(f"eta:{m}", ctx.t("in {n} min", n=m)) for m in (15, 30, 45, 60, 90, 120)],
        columns=3,
    )


async def step_way(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Take the ETA and tell the resident."""
    minutes = int(value[4:]) if value and value.startswith("eta:") and value[4:].isdigit() else None
    if minutes is None and ctx.inbound.kind == Kind.TEXT and fold_width(ctx.inbound.text).strip().isdigit():
        minutes = int(fold_width(ctx.inbound.text).strip())
    notices = Notices()
    try:
        if minutes is None:
            raise JobRefused("eta")
        await visit.on_my_way(ctx.session, ticket, ctx.person, minutes, ctx.now, notices)
    except JobRefused as exc:
        refuse(ctx, exc)
        if exc.reason == "eta":
            return
        end_dialog(ctx)
        return
    await after_step(
        ctx,
        ticket,
        notices,
        ctx.t(
            "The resident knows you are on the way. At the door, ask them "
            "for the verification code and tap “Arrived”."
        ),
    )


async def start_arrived(ctx: Context, ticket: Ticket) -> None:
    """Ask for the resident's code."""
    ctx.clear_choices()
    ctx.reply(ctx.t("Please type the verification code the resident gives you (4 digits)."))


async def step_arrived(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Check the code; wrong codes are counted."""
    if ctx.inbound.kind != Kind.TEXT:
        ctx.reply(ctx.t("Please type the verification code the resident gives you (4 digits)."))
        return
    notices = Notices()
    try:
        await visit.arrive(
            ctx.session,
            ticket,
            ctx.person,
            fold_width(ctx.inbound.text),
            ctx.now,
            notices,
            ctx.services.policy,
        )
    except JobRefused as exc:
        refuse(ctx, exc)
        if exc.reason != "wrong_code":
            end_dialog(ctx)
        await emit(ctx, notices)
        return
    await after_step(ctx, ticket, notices, ctx.t("Arrival at {number} recorded.", number=ticket.number))


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
    "appt": start_appt,
    "way": start_way,
    "arrived": start_arrived,
    "hold": start_hold,
    "handback": start_handback,
    "quote": job_complete.start_quote,
    "complete": job_complete.start_complete,
}
STEPS: dict[str, Callable[[Context, Ticket, str | None], Awaitable[None]]] = {
    "appt": step_appt,
    "appt_reason": step_appt_reason,
    "way": step_way,
    "arrived": step_arrived,
    "hold": step_hold,
    "hold_until": step_hold,
    "handback": step_handback,
    **job_complete.STEPS,
}
BUTTONS["j"] = job_button
DIALOGS[DIALOG] = job_dialog
