"""What a resident can do outside a dialog: the menu, help, their tickets."""

from __future__ import annotations

from dispatch.tokens import token_for
from handlers.buttons import ResidentTap, encode
from handlers.context import Context, end_dialog
from handlers.flood import CURRENT
from handlers.intake import flow
from handlers.intake.entry import over_cap
from handlers.labels import category_name, matter_kind_name, status_name
from handlers.matters.flow import start_report
from handlers.messages import Choice, Kind
from handlers.resident.attach import offer_attach
from storage.repositories import Tickets

MENU = "menu"


async def show_menu(ctx: Context, greeting: bool = True) -> None:
    """The main menu as buttons."""
    t = ctx.t
    ctx.conv.dialog = MENU
    ctx.conv.step = "menu"
    text = (
        t("Hello! I take repair requests for {community}.", community=_community_name(ctx))
        if greeting
        else ""
    )
    text = (text + "\n" if text else "") + t("What would you like to do?")
    options = [("repair", t("🔧 Report a repair"))]
    if ctx.community.matters.departments:
        options.append(("report", t("📣 Complaint, suggestion or question")))
    options += [("mine", t("📋 My requests")), ("help", t("❓ Help"))]
    ctx.ask(text, options, columns=1)


def _community_name(ctx: Context) -> str:
    c = ctx.community
    return c.name_en if ctx.t.language == "en" and c.name_en else c.name


async def menu_dialog(ctx: Context, value: str | None) -> None:
    """The menu, and whatever a resident sends outside any dialog (a new request is subject to the cap)."""
    if value == "repair" and await over_cap(ctx, CURRENT.get()):
        return
    await handle_menu(ctx, value)


async def handle_menu(ctx: Context, value: str | None) -> None:
    """A menu button or free text outside any dialog."""
    if ctx.person.role != "resident" and value is None:
        show_staff_help(ctx)
        return
    if ctx.inbound.kind == Kind.PHOTO and value is None and await offer_attach(ctx):
        return
    if value == "repair":
        await flow.start(ctx)
    elif value == "report":
        await start_report(ctx)
    elif value == "mine":
        end_dialog(ctx)
        await my_tickets(ctx)
    elif value == "help":
        end_dialog(ctx)
        show_help(ctx)
    else:
        await show_menu(ctx, greeting=False)


def show_help(ctx: Context) -> None:
    """What the bot does and the commands."""
    t = ctx.t
    ctx.reply(
        "\n".join(
            [
                t("I file repair requests and keep you told until the job is done."),
                t("/repair — report a repair (or just send 报修)"),
                t("/report — a complaint, suggestion, question or praise for the office"),
                t("/mytickets — your requests and where they stand"),
                t("/mydata — everything we hold about you, as a file; /forgetme — erase it"),
                t("/cancel — stop what you are doing"),
                t("/language — 中文 / English"),
                t("Property office: {phone}", phone=ctx.community.office_phone),
            ]
        )
    )


async def my_tickets(ctx: Context) -> None:
    """The resident's latest tickets with their status."""
    t, lang = ctx.t, ctx.t.language
    tickets = await Tickets(ctx.session).for_resident(ctx.person.id, limit=10)
    if not tickets:
        ctx.reply(t("You have no repair requests yet. Send 报修 or /repair to report one."))
        return
    lines = [t("Your latest requests (tap one for its progress):")]
    buttons = []
    for ticket in tickets:
        community = ctx.services.site.community(ticket.community) or ctx.community
        when = ticket.created_at.astimezone(community.timezone).strftime("%m-%d %H:%M")
        what = (
            matter_kind_name(ticket.matter_kind, t)
            if ticket.kind == "matter"
            else category_name(community, ticket.category, lang)
        )
        lines.append(f"{ticket.number} · {what} · {status_name(ticket.status, t, ticket.kind)} · {when}")
        token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
        buttons.append([Choice(encode(ResidentTap(token, ResidentTap.STATUS)), ticket.number)])
    ctx.clear_choices()
    ctx.reply("\n".join(lines), buttons)


def show_staff_help(ctx: Context) -> None:
    """What staff can send."""
    t = ctx.t
    lines = {
        "technician": [
            t("/jobs — your open jobs and their cards"),
            t("/onduty, /offduty — take offers or not"),
            t("/patrol — report a fault you found on your rounds"),
        ],
        "supervisor": [
            t("/queue — tickets waiting for a technician"),
            t("/overdue — late and at-risk tickets"),
            t("/assign NUMBER NAME, /reassign NUMBER NAME, /reopen NUMBER, /ticket NUMBER"),
            t("/matters — complaints and other matters for your departments; /convert NUMBER"),
            t("/incident NUMBER [NUMBER ...] — one outage many reported: link them, post progress; /patrol"),
            t("/plan — planned maintenance due this week, and what was missed"),
        ],
        "manager": [
            t("/queue, /overdue, /assign NUMBER NAME, /ticket NUMBER, /matters"),
            t("/incident NUMBER [NUMBER ...] — one outage many reported: link them, post progress; /patrol"),
            t("/plan — planned maintenance due this week, and what was missed"),
            t("/audit NUMBER — who on the staff saw the resident's phone or room"),
        ],
        "cs": [
            t("/followups — follow-up calls to record"),
            t("/ticket NUMBER — a ticket's full record"),
            t("/matters — complaints and other matters for your departments; /convert NUMBER"),
        ],
    }.get(ctx.person.role, [])
    ctx.reply("\n".join([t("Hello {name}. What you can send:", name=ctx.person.name), *lines]))
