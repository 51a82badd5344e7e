"""Intake, joining: the same fault already reported nearby; join that report or file one's own."""

from __future__ import annotations

from dispatch.incidents import linking, matching
from dispatch.lifecycle import Status
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.repair.rules import JobRefused
from dispatch.tickets import submit
from handlers.context import Context, end_dialog
from handlers.intake.draft import Goto, Outcome, draft, next_after, save
from handlers.intake.request import request_of
from handlers.labels import category_name
from storage.models import Ticket


def place_of(ctx: Context) -> matching.Place:
    """Where the draft's fault is, for matching."""
    d = draft(ctx)
    return matching.Place(
        community=ctx.community.code,
        category=d.get("category") or "",
        building=d.get("building"),
        public=d.get("scope") == "public",
    )


async def find_match(ctx: Context) -> matching.Match | None:
    """The open report this draft would join, unless the resident already chose to file their own."""
    found = await matching.find(ctx.session, place_of(ctx), ctx.person.id, ctx.now)
    if found is None or found.ticket.id == draft(ctx).get("declined"):
        return None
    return found


async def prompt_join(ctx: Context) -> Goto | None:
    """N neighbours reported this: join, or file my own (straight on when nobody did)."""
    found = await find_match(ctx)
    if found is None:
        return _onwards(ctx)
    save(ctx, {"join": found.ticket.id})
    t = ctx.t
    category = category_name(ctx.community, found.ticket.category, t.language)
    text = t(
        "{n} households have already reported {category} trouble here in the last hours ({number}, "
        "{status}). It is being handled as one job. Join their report? You will get every update and be "
        "asked at the end whether it is fixed at your home.",
        n=found.reports,
        category=category,
        number=found.ticket.number,
        status=t("waiting for a technician")
        if found.ticket.status in (Status.SUBMITTED, Status.OFFERED)
        else t("a technician has it"),
    )
    ctx.ask(text, [("join", t("👥 Join their report")), ("own", t("📝 File my own"))], columns=1)
    return None


async def handle_join(ctx: Context, value: str | None) -> Outcome:
    """Join (a linked ticket, no offer) or go on with one's own request."""
    d = draft(ctx)
    if value == "own":
        save(ctx, {"declined": d.get("join"), "join": None})
        return _onwards(ctx)
    if value != "join":
        return False
    working = await ctx.session.get(Ticket, int(d.get("join") or 0))
    if working is None or working.status not in matching.WORKING:
        ctx.reply(ctx.t("That report has just been finished, so yours goes in on its own."))
        save(ctx, {"join": None})
        return _onwards(ctx)
    await _join(ctx, working)
    return True


def _onwards(ctx: Context) -> Goto:
    """After the question (or none): photos during intake, or back to the summary from a last check there."""
    if draft(ctx).get("join_from") == "summary":
        return Goto("summary")
    return next_after(ctx, "classify")


async def _join(ctx: Context, working: Ticket) -> None:
    request = request_of(ctx)
    ticket = await submit(
        ctx.session, ctx.community, ctx.person.id, request, now=ctx.now, language=ctx.t.language
    )
    notices = Notices()
    try:
        incident, _ = await linking.declare(ctx.session, working, None, ctx.now)
        await linking.link(ctx.session, incident, ticket, ctx.person.id, ctx.now, notices, joined=True)
    except JobRefused:
        # The working ticket moved on between the question and the tap: the resident's own report stands.
        end_dialog(ctx)
        ctx.reply(ctx.t("Your repair request is filed. Number: {number}", number=ticket.number))
        await dispatch_ticket(ctx.session, ctx.community, ticket, ctx.now, notices)
        ctx.tell(notices)
        return
    end_dialog(ctx)
    ctx.tell(notices)
