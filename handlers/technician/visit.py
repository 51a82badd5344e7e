"""The visit's steps: appointment (a reason when moved), on my way (ETA), arrived (the resident's code)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dispatch.notices import Notices
from dispatch.repair import visit
from dispatch.repair.rules import JobRefused
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.messages import Kind
from handlers.refusals import refuse
from handlers.technician.steps import after_step
from handlers.validate import fold_width
from storage.models import Ticket

MOVE_REASONS = {
    "resident": N_("the resident asked"),
    "parts": N_("waiting for parts"),
    "overrun": N_("the previous job overran"),
    "other": N_("other reason"),
}


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
        ctx.reply(ctx.t("Please choose one of the times offered, or type one like 14:30."))
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
    """Ask for the resident's code; a fault staff found has no resident, so arrival is recorded at once."""
    ctx.clear_choices()
    if ticket.origin != "resident":
        notices = Notices()
        try:
            await visit.arrive_unverified(ctx.session, ticket, ctx.person, ctx.now, notices)
        except JobRefused as exc:
            end_dialog(ctx)
            refuse(ctx, exc)
            return
        await after_step(ctx, ticket, notices, ctx.t("Arrival at {number} recorded.", number=ticket.number))
        return
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
        ctx.tell(notices)
        return
    await after_step(ctx, ticket, notices, ctx.t("Arrival at {number} recorded.", number=ticket.number))
