"""/incident NUMBER [NUMBER ...]: declare an incident, link reports to it, post progress to every reporter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch import staff
from dispatch.incidents import linking, matching, progress
from dispatch.lifecycle import Status
from dispatch.notices import Notices
from dispatch.repair.rules import JobRefused
from handlers.context import Context, end_dialog
from handlers.labels import address_label, ticket_line
from handlers.office.access import overseer
from handlers.refusals import refuse
from storage.models import Incident, Person, Ticket
from storage.repositories import Tickets

DIALOG = "incident"
_CLOCK = re.compile(r"(\d{1,2})[:：点](\d{2})?")
_SPAN = re.compile(r"(\d{1,3})\s*(h|hr|hrs|hours?|小时|m|min|mins|minutes?|分钟|分)$", re.IGNORECASE)


def may_declare(person: Person, ticket: Ticket) -> bool:
    """Supervisors of the ticket's area and managers of its community may declare and post."""
    return person.role in (staff.Role.SUPERVISOR, staff.Role.MANAGER) and staff.oversees(
        person, ticket.area, ticket.community
    )


async def incident_command(ctx: Context) -> None:
    """Declare (or open) the incident of the first ticket; the other numbers are linked to it."""
    if not overseer(ctx):
        return
    numbers = ctx.inbound.args.split()
    if not numbers:
        ctx.reply(ctx.t("Please write /incident NUMBER, and the numbers of other requests to link to it."))
        return
    ticket = await _ticket(ctx, numbers[0])
    if ticket is not None:
        await declare_and_show(ctx, ticket, numbers[1:20])


async def declare_and_show(ctx: Context, ticket: Ticket, others: list[str]) -> None:
    """Make the ticket's incident if it has none, link the others, show the incident with its actions."""
    if not may_declare(ctx.person, ticket):
        refuse(ctx, JobRefused("not_supervisor"))
        return
    working = ticket
    if ticket.incident_id is not None:
        incident = await ctx.session.get(Incident, ticket.incident_id)
        found = await ctx.session.get(Ticket, incident.ticket_id) if incident else None
        working = found or ticket
    try:
        incident, new = await linking.declare(ctx.session, working, ctx.person.id, ctx.now)
    except JobRefused as exc:
        refuse(ctx, exc)
        return
    notices = Notices()
    lines = []
    if new:
        lines.append(ctx.t("Incident declared on {number}.", number=working.number))
    for number in others:
        other = await _ticket(ctx, number)
        if other is None:
            continue
        try:
            await linking.link(ctx.session, incident, other, ctx.person.id, ctx.now, notices, joined=False)
            lines.append(ctx.t("{number} linked.", number=other.number))
        except JobRefused as exc:
            if exc.reason == "status":
                reason = ctx.t("it is already being worked or is finished")
            else:
                reason = ctx.t("it is already part of this incident")
            lines.append(ctx.t("{number} not linked: {reason}.", number=other.number, reason=reason))
    ctx.tell(notices)
    await _show(ctx, incident, working, lines)


async def _show(ctx: Context, incident: Incident, working: Ticket, lines: list[str]) -> None:
    t = ctx.t
    community = ctx.services.site.community(working.community) or ctx.community
    where = (
        working.location_text
        if working.scope == "public"
        else address_label(community, working.building, None, None, t.language)
    )
    n = await matching.reports(ctx.session, working)
    lines += [
        t("📢 Incident {line}", line=ticket_line(ctx, working)),
        t("Where: {where}", where=where),
        t("Reported by {n} households.", n=n),
    ]
    if incident.eta_at is not None:
        local = incident.eta_at.astimezone(community.timezone).strftime("%m-%d %H:%M")
        lines.append(t("Expected fixed by {at}.", at=local))
    if incident.status != "open":
        end_dialog(ctx)
        lines.append(t("This incident is closed."))
        ctx.reply("\n".join(lines))
        return
    ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "menu", {"incident": incident.id}
    ctx.ask(
        "\n".join(lines) + "\n" + t("Post an update to every household that reported it:"),
        [
            ("way", t("🚗 Technician on the way")),
            ("eta", t("⏱ Expected time")),
            ("note", t("📝 Write an update")),
            ("link", t("🔗 Link requests")),
            ("done", t("Done")),
        ],
        columns=2,
    )


async def incident_dialog(ctx: Context, value: str | None) -> None:
    """The incident's menu, then the time, words or numbers a chosen action needs."""
    incident = await ctx.session.get(Incident, int(ctx.conv.data.get("incident", 0)))
    working = await ctx.session.get(Ticket, incident.ticket_id) if incident else None
    t, step = ctx.t, ctx.conv.step
    if step == "declare":
        await _declare_tapped(ctx, value)
        return
    if incident is None or working is None or incident.status != "open":
        end_dialog(ctx)
        ctx.reply(t("That incident is already closed."))
        return
    if not may_declare(ctx.person, working):
        end_dialog(ctx)
        refuse(ctx, JobRefused("not_supervisor"))
        return
    if step == "menu":
        await _menu(ctx, incident, value)
    elif step == "eta":
        when = parse_eta(ctx.inbound.text or "", ctx.now, ctx.community.timezone)
        if when is None:
            ctx.reply(t("Please write a time like 18:30, or how long, like 2h or 90 min."))
            return
        await _post(ctx, incident, "eta", eta=when)
    elif step == "note":
        text = (ctx.inbound.text or "").strip()
        if not text or value is not None:
            ctx.reply(t("Please type the update residents should read."))
            return
        await _post(ctx, incident, "note", note=text[:1000])
    elif step == "link":
        end_dialog(ctx)
        await declare_and_show(ctx, working, (ctx.inbound.text or "").split()[:20])
    else:
        end_dialog(ctx)


async def _menu(ctx: Context, incident: Incident, value: str | None) -> None:
    t = ctx.t
    if value == "way":
        await _post(ctx, incident, "on_the_way")
    elif value == "eta":
        ctx.conv.step = "eta"
        ctx.clear_choices()
        ctx.reply(t("When should it be fixed? Write a time like 18:30, or how long, like 2h or 90 min."))
    elif value == "note":
        ctx.conv.step = "note"
        ctx.clear_choices()
        ctx.reply(t("Type the update residents should read."))
    elif value == "link":
        ctx.conv.step = "link"
        ctx.clear_choices()
        ctx.reply(t("Type the numbers of the requests to link, separated by spaces."))
    elif value == "done":
        end_dialog(ctx)
        ctx.reply(t("All right."))
    else:
        ctx.reply(t("Please choose one of the buttons below."))


async def _post(
    ctx: Context, incident: Incident, what: str, *, eta: datetime | None = None, note: str = ""
) -> None:
    notices = Notices()
    end_dialog(ctx)
    try:
        sent = await progress.post(
            ctx.session, incident, ctx.person.id, what, ctx.now, notices, eta=eta, note=note
        )
    except JobRefused as exc:
        refuse(ctx, exc)
        return
    ctx.tell(notices)
    ctx.reply(ctx.t("Posted to {n} chats.", n=sent))


async def _declare_tapped(ctx: Context, value: str | None) -> None:
    ticket = await ctx.session.get(Ticket, int(ctx.conv.data.get("ticket", 0)))
    end_dialog(ctx)
    if value != "declare" or ticket is None:
        ctx.reply(ctx.t("All right."))
        return
    await declare_and_show(ctx, ticket, [])


def offer_declare(ctx: Context, ticket: Ticket) -> list[tuple[str, str]]:
    """The button /ticket shows an overseer on an open repair (the dialog waits for its tap)."""
    if ticket.kind != "repair" or ticket.status not in (*linking.DECLARABLE, Status.LINKED):
        return []
    if not may_declare(ctx.person, ticket):
        return []
    ctx.conv.dialog, ctx.conv.step, ctx.conv.data = DIALOG, "declare", {"ticket": ticket.id}
    label = ctx.t("📢 Open its incident") if ticket.incident_id else ctx.t("📢 Declare an incident")
    return [("declare", label)]


def parse_eta(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """18:30 (today, or tomorrow once passed), 18点, or a span: 2h, 90 min, 2小时, 30分钟."""
    text = text.strip().lower()
    span = _SPAN.fullmatch(text)
    if span:
        amount, unit = int(span.group(1)), span.group(2)
        minutes = amount * 60 if unit.startswith(("h", "小")) else amount
        return now + timedelta(minutes=minutes) if 0 < minutes <= 7 * 24 * 60 else None
    clock = _CLOCK.fullmatch(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
        if hour > 23 or minute > 59:
            return None
        local = now.astimezone(tz)
        when = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if when <= local:
            when += timedelta(days=1)
        return when
    return None


async def _ticket(ctx: Context, number: str) -> Ticket | None:
    ticket = await Tickets(ctx.session).by_number(number)
    if ticket is None or ticket.kind != "repair":
        ctx.reply(ctx.t("There is no request {number}.", number=number[:40]))
        return None
    return ticket
