"""A resident and their open tickets: status timeline, arrival, quotes, confirm and rate, cancel, notes."""

from __future__ import annotations

from dispatch import closing
from dispatch.incidents import reopening
from dispatch.lifecycle import allowed, log
from dispatch.matters import handling
from dispatch.matters.routing import department_staff
from dispatch.notices import Notices
from dispatch.repair import quotes, visit
from dispatch.repair.rules import JobRefused
from dispatch.tokens import lookup, token_for
from handlers.buttons import ResidentTap, encode
from handlers.context import Context, end_dialog
from handlers.i18n import N_
from handlers.labels import REASONS, status_name
from handlers.messages import Choice, Kind
from handlers.photos import store_inbound_photo
from handlers.refusals import refuse
from handlers.resident.menu import my_tickets
from handlers.timeline import timeline
from storage.models import Quote, Ticket, TicketPhoto
from storage.repositories import Tickets

DIALOG = "ticket"
DECLINE_REASONS = {
    "price": N_("Too expensive"),
    "own_materials": N_("I'll buy the materials myself"),
    "not_now": N_("Not now"),
}


async def status_command(ctx: Context) -> None:
    """/status NUMBER: the timeline in plain words (only the resident's own tickets)."""
    number = ctx.inbound.args.strip()
    if not number:
        await my_tickets(ctx)
        return
    ticket = await Tickets(ctx.session).by_number(number)
    if ticket is None or ticket.resident_id != ctx.person.id:
        ctx.reply(
            ctx.t("You have no request numbered {number}. Send /mytickets to see yours.", number=number[:40])
        )
        return
    await show_status(ctx, ticket)


async def show_status(ctx: Context, ticket: Ticket) -> None:
    """Timeline plus the actions open to the resident now."""
    lines = [
        ctx.t(
            "{number}: {status}", number=ticket.number, status=status_name(ticket.status, ctx.t, ticket.kind)
        )
    ]
    lines += await timeline(ctx, ticket)
    token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
    buttons = (
        [Choice(encode(ResidentTap(token, ResidentTap.NOTE)), ctx.t("📝 Add a photo or note"))]
        if ticket.status not in ("closed", "cancelled", "rejected")
        else []
    )
    if ticket.status in ("submitted", "offered", "assigned", "scheduled", "en_route"):
        buttons.append(Choice(encode(ResidentTap(token, ResidentTap.CANCEL)), ctx.t("Cancel this request")))
    ctx.clear_choices()
    ctx.reply("\n".join(lines), [buttons] if buttons else [])


async def resident_button(ctx: Context, tap: ResidentTap) -> None:
    """A resident's button on a ticket, re-authorised: the token must be this resident's for that ticket."""
    row = await lookup(ctx.session, tap.token, "resident")
    ticket = (
        await ctx.session.get(Ticket, row.ticket_id, populate_existing=True)
        if row and row.ticket_id
        else None
    )
    if row is None or ticket is None or row.target_id != ctx.person.id or ticket.resident_id != ctx.person.id:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    ctx.answer_tap()
    notices = Notices()
    try:
        await _act(ctx, ticket, tap.verb, tap.arg, notices)
    except JobRefused as exc:
        _refused(ctx, ticket, exc)
    ctx.tell(notices)


def _refused(ctx: Context, ticket: Ticket, exc: JobRefused) -> None:
    if exc.reason == "status":
        ctx.reply(
            ctx.t(
                "That is no longer possible: {number} is now “{status}”.",
                number=ticket.number,
                status=status_name(ticket.status, ctx.t, ticket.kind),
            )
        )
    elif exc.reason == "quote_decided":
        ctx.reply(ctx.t("You have already answered that quote."))
    else:
        refuse(ctx, exc)


async def _act(ctx: Context, ticket: Ticket, verb: str, arg: str, notices: Notices) -> None:
    t = ctx.t
    if verb == ResidentTap.STATUS:
        await show_status(ctx, ticket)
    elif verb == ResidentTap.HERE:
        await visit.resident_says_here(ctx.session, ticket, ctx.person, ctx.now, notices)
        ctx.reply(t("Thank you. The technician's arrival is recorded."))
    elif verb == ResidentTap.FIXED and ticket.kind == "matter":
        community = ctx.services.site.community(ticket.community) or ctx.community
        handled = arg == "yes"
        await handling.confirm_handled(ctx.session, community, ticket, ctx.person, handled, ctx.now, notices)
        if handled:
            await _ask_rating(ctx, ticket, t("Glad it's sorted! How would you rate how it was handled?"))
        else:
            ctx.reply(t("Sorry about that. The office has been told and will come back to you."))
    elif verb == ResidentTap.FIXED and arg != "yes" and reopening.is_report(ticket):
        community = ctx.services.site.community(ticket.community) or ctx.community
        await reopening.not_fixed(ctx.session, community, ticket, ctx.person, ctx.now, notices)
        ctx.reply(
            t(
                "Sorry about that. Your request goes out to technicians again on its own; the supervisor "
                "has been told."
            )
        )
    elif verb == ResidentTap.FIXED:
        await closing.confirm_fixed(ctx.session, ticket, ctx.person, arg == "yes", ctx.now, notices)
        if arg == "yes":
            token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
            stars = [
                [Choice(encode(ResidentTap(token, ResidentTap.RATE, str(n))), f"{'⭐' * n} {n}")]
                for n in range(5, 0, -1)
            ]
            ctx.reply(t("Glad it's fixed! How would you rate the service?"), stars)
        else:
            ctx.reply(
                t("Sorry about that. The same technician will come back, and the supervisor has been told.")
            )
    elif verb == ResidentTap.RATE:
        if not arg.isdigit():
            raise JobRefused("rating")
        unhappy = await closing.rate(
            ctx.session, ticket, ctx.person, int(arg), ctx.now, notices, ctx.services.policy
        )
        text = (
            t("Thank you. We're sorry it wasn't better; customer service will call you.")
            if unhappy
            else t("Thank you for your rating!")
        )
        ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "comment", {"ticket": ticket.id}
        ctx.ask(
            text + "\n" + t("Anything you'd like to add? Type a comment, or tap Skip."), [("skip", t("Skip"))]
        )
    elif verb == ResidentTap.APPROVE_QUOTE:
        row = await _quote(ctx, ticket, arg)
        await quotes.decide_quote(ctx.session, row, ctx.person, True, ctx.now, notices)
        ctx.reply(t("Quote approved. The technician will go ahead."))
    elif verb == ResidentTap.DECLINE_QUOTE:
        row = await _quote(ctx, ticket, arg)
        if row.status != "pending":
            raise JobRefused("quote_decided")
        ctx.conv.dialog, ctx.conv.step, ctx.conv.data = (
            DIALOG,
            "decline",
            {"ticket": ticket.id, "quote": row.id},
        )
        ctx.ask(
            t("Why do you decline the quote?"), [(k, t(v)) for k, v in DECLINE_REASONS.items()], columns=1
        )
    elif verb == ResidentTap.CANCEL:
        if not allowed(ticket.status, "cancelled", ticket.kind):
            raise JobRefused("status", status=ticket.status)
        ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "cancel", {"ticket": ticket.id}
        options = [(k, t(REASONS[k])) for k in closing.CANCEL_REASONS]
        ctx.ask(
            t("Why do you want to cancel {number}?", number=ticket.number),
            [*options, ("keep", t("Keep my request"))],
            columns=1,
        )
    elif verb == ResidentTap.NOTE:
        ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "note", {"ticket": ticket.id}
        ctx.clear_choices()
        ctx.reply(_note_prompt(ctx, ticket))
    else:
        raise JobRefused("unknown")


async def _ask_rating(ctx: Context, ticket: Ticket, text: str) -> None:
    token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
    stars = [
        [Choice(encode(ResidentTap(token, ResidentTap.RATE, str(n))), f"{'⭐' * n} {n}")]
        for n in range(5, 0, -1)
    ]
    ctx.reply(text, stars)


async def _quote(ctx: Context, ticket: Ticket, arg: str) -> Quote:
    row = await ctx.session.get(Quote, int(arg)) if arg.isdigit() else None
    if row is None or row.ticket_id != ticket.id:
        raise JobRefused("not_yours")
    return row


async def ticket_dialog(ctx: Context, value: str | None) -> None:
    """Comment, decline reason, cancel reason, or a note for the technician."""
    ticket = await ctx.session.get(Ticket, int(ctx.conv.data.get("ticket", 0)))
    if ticket is None or ticket.resident_id != ctx.person.id:
        end_dialog(ctx)
        return
    step, data, t, notices = ctx.conv.step, dict(ctx.conv.data), ctx.t, Notices()
    try:
        if step == "comment":
            if value != "skip" and ctx.inbound.kind == Kind.TEXT:
                await closing.add_comment(ctx.session, ticket, ctx.person, ctx.inbound.text, ctx.now)
            end_dialog(ctx)
            ctx.reply(t("Thank you! Your request {number} is complete.", number=ticket.number))
        elif step == "decline":
            if value not in DECLINE_REASONS:
                ctx.reply(t("Please choose one of the options offered."))
                return
            row = await _quote(ctx, ticket, str(data.get("quote")))
            end_dialog(ctx)
            await quotes.decide_quote(ctx.session, row, ctx.person, False, ctx.now, notices, reason=value)
            ctx.reply(t("Quote declined; the paid work will not be done."))
        elif step == "cancel":
            end_dialog(ctx)
            if value == "keep" or value not in closing.CANCEL_REASONS:
                ctx.reply(t("All right, your request stays open."))
                return
            await closing.cancel(ctx.session, ticket, ctx.person, value, ctx.now, notices)
            ctx.reply(t("Your request {number} is cancelled.", number=ticket.number))
        elif step == "note":
            await _note(ctx, ticket, notices)
        else:
            end_dialog(ctx)
    except JobRefused as exc:
        end_dialog(ctx)
        _refused(ctx, ticket, exc)
    ctx.tell(notices)


async def _note(ctx: Context, ticket: Ticket, notices: Notices) -> None:
    kind = ctx.inbound.kind
    if kind == Kind.PHOTO:
        sha = await store_inbound_photo(ctx)
        if sha is None:
            return
        ctx.session.add(
            TicketPhoto(
                ticket_id=ticket.id, sha256=sha, stage="note", added_by=ctx.person.id, added_at=ctx.now
            )
        )
        log(ctx.session, ticket, "resident_photo", now=ctx.now, actor_id=ctx.person.id)
        payload = {"photo": sha}
    elif kind == Kind.TEXT and ctx.inbound.text.strip():
        text = ctx.inbound.text.strip()[:1000]
        log(ctx.session, ticket, "resident_note", now=ctx.now, actor_id=ctx.person.id, text=text)
        payload = {"text": text}
    else:
        ctx.reply(_note_prompt(ctx, ticket))
        return
    end_dialog(ctx)
    if ticket.kind == "matter":
        community = ctx.services.site.community(ticket.community) or ctx.community
        readers = (
            [ticket.handler_id]
            if ticket.handler_id is not None
            else [
                p.id
                for p in await department_staff(
                    ctx.session, community, ticket.department, exclude=ticket.about_staff_id
                )
            ]
        )
        for reader in readers:
            notices.person("resident_note", ticket.id, reader, **payload)
        ctx.reply(ctx.t("Added to {number}; the office has it.", number=ticket.number))
    elif ticket.technician_id is not None:
        notices.person("resident_note", ticket.id, ticket.technician_id, **payload)
        ctx.reply(ctx.t("Added to {number}; the technician has it.", number=ticket.number))
    else:
        ctx.reply(ctx.t("Added to {number}; the technician will see it.", number=ticket.number))


def _note_prompt(ctx: Context, ticket: Ticket) -> str:
    if ticket.kind == "matter":
        return ctx.t(
            "Type your answer or a note for {number}, or send a photo; the office will get it.",
            number=ticket.number,
        )
    return ctx.t(
        "Send a photo or type a note for {number}; the technician will get it.", number=ticket.number
    )
