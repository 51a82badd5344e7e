"""What a resident can do outside a dialog: the menu, help, their tickets."""

from __future__ import annotations

from handlers import intake
from handlers.common import end_dialog
from handlers.context import Context
from handlers.labels import category_name, status_name
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
    lines = [t("Your latest requests:")]
    for ticket in tickets:
        community = ctx.services.site.community(ticket.community) or ctx.community
        when = ticket.created_at.astimezone(community.timezone).strftime("%m-%d %H:%M")
        lines.append(
            f"{ticket.number} · {category_name(community, ticket.category, lang)} · "
            f"{status_name(ticket.status, t)} · {when}"
        )
    ctx.reply("\n".join(lines))
