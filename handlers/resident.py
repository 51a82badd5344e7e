"""What a resident can do outside a dialog: the menu, help, their tickets."""

from __future__ import annotations

from dispatch.tokens import token_for
from handlers import intake
from handlers.common import end_dialog
from handlers.context import Context
from handlers.labels import category_name, status_name
from handlers.messages import Choice, Kind
from storage.repositories import Tickets

MENU = "menu"
ATTACH = "attach"


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
    ctx.ask(
        text,
        [("repair", t("🔧 Report a repair")), ("mine", t("📋 My requests")), ("help", t("❓ Help"))],
        columns=1,
    )


def _community_name(ctx: Context) -> str:
    c = ctx.community
    return c.name_en if ctx.t.language == "en" and c.name_en else c.name


async def handle_menu(ctx: Context, value: str | None) -> None:
    """A menu button or free text outside any dialog."""
    if ctx.person.role != "resident" and value is None:
        show_staff_help(ctx)
        return
    if ctx.inbound.kind == Kind.PHOTO and value is None and await offer_attach(ctx):
        return
    if value == "repair":
        await intake.start(ctx)
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
                t("/mytickets — your requests and where they stand"),
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
        lines.append(
            f"{ticket.number} · {category_name(community, ticket.category, lang)} · "
            f"{status_name(ticket.status, t)} · {when}"
        )
        token = await token_for(ctx.session, "resident", ticket.id, ctx.person.id, ctx.now)
        buttons.append([Choice(f"r:{token}:st", ticket.number)])
    ctx.clear_choices()
    ctx.reply("\n".join(lines), buttons)


def show_staff_help(ctx: Context) -> None:
    """What staff can send."""
    t = ctx.t
    lines = {
        "technician": [
            t("/jobs — your open jobs and their cards"),
            t("/onduty, /offduty — take offers or not"),
        ],
        "supervisor": [
            t("/queue — tickets waiting for a technician"),
            t("/overdue — late and at-risk tickets"),
            t("/assign NUMBER NAME, /reassign NUMBER NAME, /reopen NUMBER, /ticket NUMBER"),
        ],
        "manager": [t("/queue, /overdue, /assign NUMBER NAME, /ticket NUMBER")],
        "cs": [t("/followups — follow-up calls to record"), t("/ticket NUMBER — a ticket's full record")],
    }.get(ctx.person.role, [])
    ctx.reply("\n".join([t("Hello {name}. What you can send:", name=ctx.person.name), *lines]))


async def offer_attach(ctx: Context) -> bool:
    """A photo outside any dialog: keep it and ask which open request it belongs to."""
    from handlers.photos import store_inbound_photo

    open_tickets = [
        tk
        for tk in await Tickets(ctx.session).for_resident(ctx.person.id, limit=10)
        if tk.status not in ("closed", "cancelled", "rejected")
    ]
    if not open_tickets:
        return False
    sha = await store_inbound_photo(ctx)
    if sha is None:
        return True
    ctx.conv.dialog, ctx.conv.step = ATTACH, "which"
    ctx.conv.data = {"photo": sha}
    options = [(f"add:{tk.id}", tk.number) for tk in open_tickets[:5]] + [("none", ctx.t("Don't add it"))]
    ctx.ask(ctx.t("Add this photo to which request?"), options, columns=1)
    return True


async def attach_step(ctx: Context, value: str | None) -> None:
    """Add the kept photo to the chosen open request; the technician gets it."""
    from dispatch.lifecycle import log
    from dispatch.notices import Notices
    from handlers.dispatching import emit
    from storage.models import Ticket, TicketPhoto

    sha = str(ctx.conv.data.get("photo", ""))
    end_dialog(ctx)
    ticket = await ctx.session.get(Ticket, int(value[4:])) if value and value.startswith("add:") else None
    if ticket is None or ticket.resident_id != ctx.person.id or not sha:
        ctx.reply(ctx.t("All right, the photo was not added."))
        return
    ctx.session.add(
        TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="note", added_by=ctx.person.id, added_at=ctx.now)
    )
    log(ctx.session, ticket, "resident_photo", now=ctx.now, actor_id=ctx.person.id)
    notices = Notices()
    if ticket.technician_id is not None:
        notices.person("resident_note", ticket.id, ticket.technician_id, photo=sha)
    await emit(ctx, notices)
    ctx.reply(ctx.t("Added to {number}; the technician will see it.", number=ticket.number))
