"""Customer service's follow-up calls (回访): /followups, the outcome and a note; recording one closes it."""

from __future__ import annotations

from sqlalchemy import select

from dispatch import closing
from dispatch.notices import Notices
from dispatch.privacy import audit
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup, token_for
from handlers.buttons import FollowUpTap, encode
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.labels import REASONS, status_name, ticket_line
from handlers.messages import Choice, Kind
from handlers.office.access import office_staff
from handlers.refusals import refuse
from storage.models import FollowUp, Ticket

DIALOG = "followup"
OUTCOMES = {
    "satisfied": N_("Resident satisfied"),
    "resolved": N_("Resolved on the phone"),
    "rework": N_("Needs rework"),
    "unreachable": N_("Couldn't reach the resident"),
}


async def followups_command(ctx: Context) -> None:
    """/followups: open follow-up tasks with a button each."""
    if not office_staff(ctx):
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
        rows.append([Choice(encode(FollowUpTap(token)), label)])
    ctx.clear_choices()
    ctx.reply(ctx.t("Follow-ups waiting; tap one to record it:"), rows)


async def followup_button(ctx: Context, tap: FollowUpTap) -> None:
    """Start recording one follow-up: call details, then the outcome."""
    row = await lookup(ctx.session, tap.token, "followup")
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
    audit.record(
        ctx.session,
        viewer_id=ctx.person.id,
        ticket=ticket,
        what="followup",
        fields=audit.shown(ticket, room=False),
        via=ctx.inbound.identity.channel,
        now=ctx.now,
    )
    ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "outcome", {"task": task.id}
    text = "\n".join(
        [
            ticket_line(ctx, ticket),
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
            ctx.reply(ctx.t("Please choose one of the options offered."))
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
            status=status_name(ticket.status, ctx.t, ticket.kind),
        )
    )
    ctx.tell(notices)
