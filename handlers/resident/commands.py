"""The commands everyone has: /start, /repair, /report, /cancel, /help, /mytickets, /language."""

from __future__ import annotations

from handlers.context import Context, end_dialog
from handlers.i18n import Translator
from handlers.intake.entry import offer_resume, start_intake
from handlers.matters.flow import start_report
from handlers.resident import menu


async def start_command(ctx: Context) -> None:
    """/start: resume a half-done request, or the menu (`/start repair` from a group's link: intake)."""
    if offer_resume(ctx):
        return
    if ctx.inbound.args.strip() == "repair":
        await start_intake(ctx)
    else:
        await menu.show_menu(ctx)


async def repair_command(ctx: Context) -> None:
    """/repair: a new request (or resume the half-done one)."""
    if not offer_resume(ctx):
        await start_intake(ctx)


async def report_command(ctx: Context) -> None:
    """/report: a complaint, suggestion, question or praise (报事)."""
    await start_report(ctx)


async def cancel_command(ctx: Context) -> None:
    """/cancel: leave whatever dialog the chat is in."""
    had = bool(ctx.conv.dialog and ctx.conv.dialog != menu.MENU)
    end_dialog(ctx)
    ctx.reply(ctx.t("Cancelled. Nothing was filed.") if had else ctx.t("There was nothing to cancel."))


async def help_command(ctx: Context) -> None:
    """/help."""
    menu.show_help(ctx)


async def mytickets_command(ctx: Context) -> None:
    """/mytickets."""
    await menu.my_tickets(ctx)


async def language_command(ctx: Context) -> None:
    """/language: switch between Chinese and English."""
    ctx.person.language = "en" if ctx.t.language == "zh_CN" else "zh_CN"
    ctx.t = Translator(ctx.person.language)
    ctx.reply(ctx.t("Language set to English.") if ctx.t.language == "en" else ctx.t("已切换为中文。"))
