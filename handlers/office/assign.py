"""Assigning by hand: /assign and /reassign NUMBER NAME, one-tap buttons from escalations, confirming."""

from __future__ import annotations

from dispatch import staff
from dispatch.notices import Notices
from dispatch.offers.assignment import assign, reassign
from dispatch.offers.pool import Outcome
from handlers.buttons import AssignTap
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.labels import status_name
from handlers.office.access import overseer
from storage.models import ActionToken, Person, Ticket
from storage.repositories import Tickets

CONFIRM = "confirm_assign"


OUTCOMES = {
    "taken": N_("{number} is already held by {holder}. Use /reassign {number} NAME to move it."),
    "closed": N_("{number} is {status} and can't be assigned now."),
    "not_supervisor": N_("Only a supervisor or manager of this area can assign {number}."),
    "not_technician": N_("{name} is not a technician."),
    "same": N_("{name} already holds {number}."),
}


CONFIRMS = {
    "confirm_off_duty": N_("{name} is off duty. Assign {number} to them anyway?"),
    "confirm_skill": N_("{name} doesn't have the skill for {number} on record. Assign anyway?"),
    "confirm_area": N_("{number} is outside {name}'s areas. Assign anyway?"),
}


async def assign_command(ctx: Context) -> None:
    """/assign NUMBER NAME."""
    await _by_text(ctx, reassigning=False)


async def reassign_command(ctx: Context) -> None:
    """/reassign NUMBER NAME."""
    await _by_text(ctx, reassigning=True)


async def _by_text(ctx: Context, *, reassigning: bool) -> None:
    if not overseer(ctx):
        return
    number, _, name = ctx.inbound.args.strip().partition(" ")
    name = name.strip()
    usage = "/reassign NUMBER NAME" if reassigning else "/assign NUMBER NAME"
    if not number or not name:
        ctx.reply(
            ctx.t(
                "Please write it as {usage}, for example {example}.",
                usage=usage,
                example=usage.replace("NUMBER", "BX-20261123-0001").replace("NAME", "张师傅"),
            )
        )
        return
    ticket = await Tickets(ctx.session).by_number(number)
    if ticket is None:
        ctx.reply(ctx.t("There is no request {number}.", number=number[:40]))
        return
    technician = await staff.by_name(ctx.session, name)
    if technician is None:
        names = ", ".join(p.name for p in await staff.listing(ctx.session) if p.role == staff.Role.TECHNICIAN)
        ctx.reply(
            ctx.t(
                "There is no technician called {name}. Technicians: {names}",
                name=name[:40],
                names=names or "—",
            )
        )
        return
    await _do(ctx, ticket, technician, reassigning=reassigning, force=False)


async def _do(ctx: Context, ticket: Ticket, technician: Person, *, reassigning: bool, force: bool) -> None:
    community = ctx.services.site.community(ticket.community) or ctx.community
    notices = Notices()
    act = reassign if reassigning else assign
    outcome = await act(ctx.session, community, ticket, technician, ctx.person, ctx.now, notices, force=force)
    ctx.tell(notices)
    _report(ctx, outcome, ticket, technician, reassigning)


def _report(ctx: Context, outcome: Outcome, ticket: Ticket, technician: Person, reassigning: bool) -> None:
    t = ctx.t
    values = {
        "number": ticket.number,
        "name": technician.name,
        "holder": outcome.holder or "—",
        "status": status_name(ticket.status, t),
    }
    if outcome.ok:
        ctx.answer_tap(t("Done"))
        ctx.reply(t("✅ {number} is now with {name}.", **values))
    elif outcome.reason in CONFIRMS:
        ctx.conv.dialog = CONFIRM
        ctx.conv.step = "confirm"
        ctx.ask(t(CONFIRMS[outcome.reason], **values), [("yes", t("Yes, assign")), ("no", t("No"))])
        ctx.conv.data = {
            **ctx.conv.data,
            "ticket": ticket.id,
            "technician": technician.id,
            "reassign": reassigning,
        }
    else:
        ctx.reply(t(OUTCOMES.get(outcome.reason, N_("{number} can't be assigned now.")), **values))


async def confirm_step(ctx: Context, value: str | None) -> None:
    """The answer to "assign anyway?"."""
    data = dict(ctx.conv.data)
    end_dialog(ctx)
    if value != "yes":
        ctx.reply(ctx.t("All right, nothing changed."))
        return
    ticket = await Tickets(ctx.session).get(int(data.get("ticket", 0)))
    technician = await ctx.session.get(Person, int(data.get("technician", 0)))
    if ticket is None or technician is None or not overseer(ctx):
        return
    await _do(ctx, ticket, technician, reassigning=bool(data.get("reassign")), force=True)


async def assign_button(ctx: Context, tap: AssignTap) -> None:
    """A one-tap assignment from an escalation message: re-authorised, then the same path as /assign."""
    token = await ctx.session.get(ActionToken, tap.token)
    if token is None or token.kind != "assign" or token.ticket_id is None or token.target_id is None:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    if ctx.person.role not in (staff.Role.SUPERVISOR, staff.Role.MANAGER):
        ctx.answer_tap(ctx.t("That command is for supervisors and managers."))
        return
    ticket = await Tickets(ctx.session).get(token.ticket_id)
    technician = await ctx.session.get(Person, token.target_id)
    if ticket is None or technician is None:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    token.used_at = ctx.now
    await _do(ctx, ticket, technician, reassigning=False, force=False)
