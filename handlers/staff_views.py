"""Staff commands: /jobs for technicians; /ticket, /overdue, /reopen for supervisors; /followups for CS."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch import closing, staff
from dispatch.lifecycle import HELD, OPEN
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup, token_for
from handlers.common import end_dialog
from handlers.context import Context
from handlers.dispatching import emit
from handlers.i18n import N_
from handlers.job_common import refuse
from handlers.labels import category_name, status_name
from handlers.messages import Choice, Kind
from handlers.notices_closure import REASONS
from handlers.router import BUTTONS, COMMANDS, DIALOGS
from handlers.timeline import timeline
from storage.models import FollowUp, Ticket
from storage.repositories import Tickets

AT_RISK = timedelta(minutes=30)
OUTCOMES = {
    "satisfied": N_("Resident satisfied"),
    "resolved": N_("Resolved on the phone"),
    "rework": N_("Needs rework"),
    "unreachable": N_("Couldn't reach the resident"),
}


def _line(ctx: Context, ticket: Ticket) -> str:
    community = ctx.services.site.community(ticket.community) or ctx.community
    return (
        f"{ticket.number} · {category_name(community, ticket.category, ctx.t.language)} · "
        f"{status_name(ticket.status, ctx.t)}"
    )


async def jobs_command(ctx: Context) -> None:
    """/jobs: the technician's held jobs, each with its card re-sent."""
    if ctx.person.role != staff.Role.TECHNICIAN:
        ctx.reply(ctx.t("That command is for technicians."))
        return
    stmt = select(Ticket).where(
        Ticket.technician_id == ctx.person.id, Ticket.status.in_([str(s) for s in HELD])
    )
    tickets = (await ctx.session.execute(stmt.order_by(Ticket.created_at))).scalars().all()
    if not tickets:
        ctx.reply(ctx.t("You have no open jobs."))
        return
    ctx.reply("\n".join([ctx.t("Your open jobs:"), *(_line(ctx, tk) for tk in tickets)]))
    notices = Notices()
    for ticket in tickets:
        notices.person("job_card", ticket.id, ctx.person.id, fresh=True)
    await emit(ctx, notices)


def _overseer(ctx: Context) -> bool:
    if ctx.person.role in (staff.Role.SUPERVISOR, staff.Role.MANAGER, staff.Role.CUSTOMER_SERVICE):
        return True
    ctx.reply(ctx.t("That command is for property staff."))
    return False


async def _ticket_from_args(ctx: Context) -> Ticket | None:
    """The ticket named in the command's argument, or a polite reply and None."""
    number = ctx.inbound.args.strip()
    ticket = await Tickets(ctx.session).by_number(number) if number else None
    if ticket is None:
        ctx.reply(ctx.t("There is no request {number}.", number=number[:40] or "—"))
    return ticket


async def ticket_command(ctx: Context) -> None:
    """/ticket NUMBER: the full record and event log."""
    if not _overseer(ctx):
        return
    ticket = await _ticket_from_args(ctx)
    if ticket is None:
        return
    community = ctx.services.site.community(ticket.community) or ctx.community
    from handlers.labels import address_label

    where = (
        ticket.location_text
        if ticket.scope == "public"
        else address_label(community, ticket.building, ticket.unit, ticket.room, ctx.t.language)
    )
    lines = [
        _line(ctx, ticket),
        ctx.t("Address: {where}", where=where),
        ctx.t("Phone: {phone}", phone=ticket.phone),
        ctx.t("Problem: {text}", text=ticket.description),
    ]
    if ticket.fee_cents or ticket.labour_minutes:
        from handlers.job_complete import money

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
    ctx.reply("\n".join(lines))


async def overdue_command(ctx: Context) -> None:
    """/overdue: tickets of the supervisor's areas whose deadline has passed or is within 30 minutes."""
    if not _overseer(ctx):
        return
    areas = ctx.person.areas if ctx.person.role != staff.Role.CUSTOMER_SERVICE else None
    found = await Tickets(ctx.session).at_risk(
        ctx.now + AT_RISK, OPEN, ctx.person.community or None, areas or None
    )
    rows = [
        (ticket, kind, due)
        for ticket, kind, due in found
        if staff.oversees(ctx.person, ticket.area, ticket.community)
        or (ctx.person.role == staff.Role.CUSTOMER_SERVICE and staff.serves(ctx.person, ticket.community))
    ][:50]
    if not rows:
        ctx.reply(ctx.t("Nothing is overdue or at risk in your areas."))
        return
    lines = [ctx.t("Overdue or at risk:")]
    for ticket, kind, due in rows:
        minutes = int((ctx.now - due).total_seconds() // 60)
        state = ctx.t("{n} min late", n=minutes) if minutes >= 0 else ctx.t("due in {n} min", n=-minutes)
        lines.append(f"{_line(ctx, ticket)} · {kind} · {state}")
    ctx.reply("\n".join(lines))


async def reopen_command(ctx: Context) -> None:
    """/reopen NUMBER: rework by the same technician."""
    if not _overseer(ctx):
        return
    ticket = await _ticket_from_args(ctx)
    if ticket is None:
        return
    notices = Notices()
    try:
        await closing.reopen(ctx.session, ticket, ctx.person, ctx.now, notices)
    except JobRefused as exc:
        refuse(ctx, exc)
        return
    ctx.reply(ctx.t("{number} is reopened for rework.", number=ticket.number))
    await emit(ctx, notices)


async def followups_command(ctx: Context) -> None:
    """/followups: open follow-up tasks with a button each."""
    if not _overseer(ctx):
        return
    tasks = await closing.open_followups(ctx.session, ctx.person.community)
    if not tasks:
        ctx.reply(ctx.t("No follow-ups are waiting."))
        return
    rows = []
    for task in tasks:
        ticket = await ctx.session.get(Ticket, task.ticket_id)
        if ticket is None:
            continue
        token = await token_for(ctx.session, "followup", ticket.id, ctx.person.id, ctx.now)
        label = f"{ticket.number} · {ctx.t(REASONS.get(task.reason, task.reason))}"
        rows.append([Choice(f"fu:{token}", label)])
    ctx.clear_choices()
    ctx.reply(ctx.t("Follow-ups waiting; tap one to record it:"), rows)


async def followup_button(ctx: Context, rest: str) -> None:
    """Start recording one follow-up: call details, then the outcome."""
    row = await lookup(ctx.session, rest, "followup")
    if row is None or row.ticket_id is None or row.target_id != ctx.person.id:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ticket = await ctx.session.get(Ticket, row.ticket_id)
    stmt = select(FollowUp).where(FollowUp.ticket_id == row.ticket_id, FollowUp.status == "open")
    task = (await ctx.session.execute(stmt)).scalars().first()
    if task is None or ticket is None:
        ctx.answer_tap(ctx.t("That follow-up has already been recorded."))
        return
    ctx.answer_tap()
    ctx.conv.dialog, ctx.conv.step, ctx.conv.data = "followup", "outcome", {"task": task.id}
    text = "\n".join(
        [
            _line(ctx, ticket),
            ctx.t("Phone: {phone}", phone=ticket.phone),
            ctx.t("What did the follow-up find?"),
        ]
    )
    ctx.ask(text, [(k, ctx.t(v)) for k, v in OUTCOMES.items()], columns=1)


async def followup_dialog(ctx: Context, value: str | None) -> None:
    """Outcome, then an optional note; recording it closes the ticket (or starts rework)."""
    task = await ctx.session.get(FollowUp, int(ctx.conv.data.get("task", 0)))
    if task is None:
        end_dialog(ctx)
        return
    if ctx.conv.step == "outcome":
        if value not in OUTCOMES:
            ctx.reply(ctx.t("Please choose one of the buttons below."))
            return
        ctx.conv.step = "note"
        ctx.conv.data = {**ctx.conv.data, "outcome": value}
        ctx.ask(ctx.t("Add a note about the call, or tap Skip."), [("skip", ctx.t("Skip"))])
        return
    note = "" if value == "skip" or ctx.inbound.kind != Kind.TEXT else ctx.inbound.text.strip()
    outcome = str(ctx.conv.data.get("outcome"))
    end_dialog(ctx)
    notices = Notices()
    try:
        ticket = await closing.record_followup(ctx.session, task, ctx.person, outcome, note, ctx.now, notices)
    except JobRefused as exc:
        refuse(ctx, exc)
        return
    ctx.reply(
        ctx.t(
            "Follow-up recorded; {number} is now “{status}”.",
            number=ticket.number,
            status=status_name(ticket.status, ctx.t),
        )
    )
    await emit(ctx, notices)


COMMANDS.update(
    {
        "jobs": jobs_command,
        "ticket": ticket_command,
        "overdue": overdue_command,
        "reopen": reopen_command,
        "followups": followups_command,
    }
)
BUTTONS["fu"] = followup_button
DIALOGS["followup"] = followup_dialog
