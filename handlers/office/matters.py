"""A department's side of a matter (报事) in chat: the card's buttons, the short dialogs behind them (the
answer, whom to hand it to, where to forward it and why, why it is not ours), and /matters."""

from __future__ import annotations

from sqlalchemy import select

from dispatch import staff
from dispatch.matters import conversion, handling
from dispatch.matters.routing import may_handle
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from dispatch.site import Community
from dispatch.tokens import lookup
from handlers.buttons import MatterTap
from handlers.context import Context, end_dialog
from handlers.labels import display, ticket_line
from handlers.messages import Kind
from handlers.refusals import refuse
from handlers.validate import clean_text
from storage.models import Person, Ticket

DIALOG = "matter"
MAX_PEOPLE = 12
OPEN = ("submitted", "assigned", "in_progress")


async def _matter(ctx: Context, ticket_id: int) -> Ticket | None:
    """The matter if this person may still act on it (else a polite word and None)."""
    ticket = await ctx.session.get(Ticket, ticket_id, populate_existing=True)
    community = ctx.services.site.community(ticket.community) if ticket else None
    if (
        ticket is None
        or ticket.kind != "matter"
        or not may_handle(ctx.person, ticket, community or ctx.community)
    ):
        ctx.reply(ctx.t("That matter is not yours to handle."))
        return None
    return ticket


def _community(ctx: Context, ticket: Ticket) -> Community:
    return ctx.services.site.community(ticket.community) or ctx.community


async def matter_button(ctx: Context, tap: MatterTap) -> None:
    """A step from the matter card, re-authorised: the department's staff, the holder, or a manager."""
    row = await lookup(ctx.session, tap.token, "matter")
    if row is None or row.ticket_id is None or row.target_id not in (None, ctx.person.id):
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ticket = await ctx.session.get(Ticket, row.ticket_id, populate_existing=True)
    if (
        ticket is None
        or ticket.kind != "matter"
        or not may_handle(ctx.person, ticket, _community(ctx, ticket))
    ):
        # Also in a group chat, where a reply would be read by everyone: only the tapper sees this.
        ctx.answer_tap(ctx.t("That matter is not yours to handle."))
        return
    ctx.answer_tap()
    community, t, notices = _community(ctx, ticket), ctx.t, Notices()
    try:
        if tap.action == MatterTap.ACCEPT:
            await handling.accept(ctx.session, community, ticket, ctx.person, ctx.now, notices)
            ctx.reply(t("You have {number}. Answer the resident with 💬 Reply.", number=ticket.number))
        elif tap.action == MatterTap.DONE:
            await handling.mark_handled(
                ctx.session, community, ticket, ctx.person, ctx.now, notices, ctx.services.policy
            )
            ctx.reply(
                t("{number} is marked handled; the resident is asked to confirm.", number=ticket.number)
            )
        elif tap.action in STARTS:
            ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, tap.action, {"ticket": ticket.id}
            await STARTS[tap.action](ctx, ticket)
        else:
            ctx.reply(t("That step is no longer available."))
    except JobRefused as exc:
        refuse(ctx, exc)
    ctx.tell(notices)


async def _start_reply(ctx: Context, ticket: Ticket) -> None:
    ctx.ask(
        ctx.t("Type your answer to the resident about {number}; the bot sends it.", number=ticket.number),
        [("cancel", ctx.t("Cancel"))],
    )


async def _candidates(ctx: Context, ticket: Ticket) -> list[Person]:
    stmt = select(Person).where(
        Person.active.is_(True),
        Person.role.in_([str(r) for r in staff.STAFF_ROLES]),
        staff.in_community(ticket.community),
    )
    people = (await ctx.session.execute(stmt.order_by(Person.role, Person.name))).scalars().all()
    return [p for p in people if p.id not in (ticket.about_staff_id, ctx.person.id)][:MAX_PEOPLE]


async def _start_hand(ctx: Context, ticket: Ticket) -> None:
    options = [(f"p:{p.id}", p.name) for p in await _candidates(ctx, ticket)]
    ctx.ask(
        ctx.t("Whom should {number} go to?", number=ticket.number), [*options, ("cancel", ctx.t("Cancel"))]
    )


async def _start_forward(ctx: Context, ticket: Ticket) -> None:
    community, lang = _community(ctx, ticket), ctx.t.language
    options = [
        (f"d:{d.code}", display(d, lang))
        for d in community.matters.departments
        if d.code != ticket.department
    ]
    ctx.ask(
        ctx.t("Which department should take {number}?", number=ticket.number),
        [*options, ("cancel", ctx.t("Cancel"))],
    )


async def _start_refuse(ctx: Context, ticket: Ticket) -> None:
    ctx.ask(
        ctx.t("Why can't the office take {number}? The resident will read this.", number=ticket.number),
        [("cancel", ctx.t("Cancel"))],
    )


async def _start_repair(ctx: Context, ticket: Ticket) -> None:
    ctx.ask(
        ctx.t("Send {number} to the technicians as a repair?", number=ticket.number),
        [("yes", ctx.t("Yes, it's a repair")), ("cancel", ctx.t("No"))],
    )


STARTS = {
    MatterTap.REPLY: _start_reply,
    MatterTap.HAND: _start_hand,
    MatterTap.FORWARD: _start_forward,
    MatterTap.REFUSE: _start_refuse,
    MatterTap.REPAIR: _start_repair,
}


async def matter_dialog(ctx: Context, value: str | None) -> None:
    """The answer, the person, the department (then the reason), the refusal, the conversion."""
    ticket = await _matter(ctx, int(ctx.conv.data.get("ticket", 0)))
    if ticket is None or value == "cancel":
        end_dialog(ctx)
        if ticket is not None:
            ctx.reply(ctx.t("All right, nothing changed."))
        return
    step, community, t, notices = ctx.conv.step, _community(ctx, ticket), ctx.t, Notices()
    typed = clean_text(ctx.inbound.text) if ctx.inbound.kind == Kind.TEXT and value is None else ""
    try:
        if step == MatterTap.REPLY:
            if not typed:
                ctx.reply(t("Please type the answer, or tap Cancel."))
                return
            end_dialog(ctx)
            await handling.answer(ctx.session, community, ticket, ctx.person, typed, ctx.now, notices)
            ctx.reply(t("Sent to the resident of {number}.", number=ticket.number))
        elif step == MatterTap.HAND:
            chosen = {f"p:{p.id}": p for p in await _candidates(ctx, ticket)}.get(value or "")
            if chosen is None:
                ctx.reply(t("Please choose one of the options offered."))
                return
            end_dialog(ctx)
            await handling.hand_to(ctx.session, community, ticket, ctx.person, chosen, ctx.now, notices)
            ctx.reply(t("{number} is now with {name}.", number=ticket.number, name=chosen.name))
        elif step == MatterTap.FORWARD:
            department = value[2:] if value and value.startswith("d:") else ""
            if community.matters.department(department) is None:
                ctx.reply(t("Please choose one of the options offered."))
                return
            ctx.conv.step, ctx.conv.data = "reason", {**ctx.conv.data, "department": department}
            ctx.ask(t("Why? The resident will read this."), [("skip", t("Skip"))])
        elif step == "reason":
            department = str(ctx.conv.data.get("department", ""))
            end_dialog(ctx)
            reason = "" if value == "skip" else typed
            await handling.forward(
                ctx.session, community, ticket, ctx.person, department, reason, ctx.now, notices
            )
            ctx.reply(t("{number} has been forwarded.", number=ticket.number))
        elif step == MatterTap.REFUSE:
            if not typed:
                ctx.reply(t("Please type the reason, or tap Cancel."))
                return
            end_dialog(ctx)
            await handling.refuse(ctx.session, community, ticket, ctx.person, typed, ctx.now, notices)
            ctx.reply(t("{number} is closed; the resident has the reason.", number=ticket.number))
        elif step == MatterTap.REPAIR and value == "yes":
            end_dialog(ctx)
            await conversion.to_repair(ctx.session, community, ticket, ctx.person, ctx.now, notices)
            ctx.reply(t("{number} has gone to the technicians as a repair.", number=ticket.number))
        else:
            end_dialog(ctx)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
    ctx.tell(notices)


async def matters_command(ctx: Context) -> None:
    """/matters: the open matters this person may handle, each card sent again at the bottom of the chat."""
    if not staff.is_staff(ctx.person) or ctx.person.role == staff.Role.TECHNICIAN:
        ctx.reply(ctx.t("That command is for property staff."))
        return
    stmt = select(Ticket).where(Ticket.kind == "matter", Ticket.status.in_(OPEN)).order_by(Ticket.created_at)
    found = [
        tk
        for tk in (await ctx.session.execute(stmt.limit(200))).scalars()
        if may_handle(ctx.person, tk, _community(ctx, tk))
    ][:10]
    if not found:
        ctx.reply(ctx.t("No matters are waiting for you."))
        return
    ctx.reply("\n".join([ctx.t("Open matters:"), *(ticket_line(ctx, tk) for tk in found)]))
    notices = Notices()
    for ticket in found:
        notices.person("matter_card", ticket.id, ctx.person.id, fresh=True)
    ctx.tell(notices)
