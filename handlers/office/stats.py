"""/stats for supervisors (their areas) and managers (their communities): a summary, one chart, details."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from dispatch import figures
from dispatch.figures import Period, PeriodError, periods
from handlers.buttons import StatsTap, encode
from handlers.context import Context
from handlers.i18n import Translator
from handlers.messages import Choice
from handlers.templates import reports


def today(ctx: Context) -> date:
    """The date in the person's community now."""
    now: datetime = ctx.now
    return now.astimezone(ctx.community.timezone).date()


def refuse(ctx: Context) -> bool:
    """Residents and technicians are told politely that figures are for the office (True: refused)."""
    if figures.may_view(ctx.person):
        return False
    ctx.reply(
        ctx.t(
            "Figures are for supervisors and managers. To report a repair send /repair; to see your own "
            "requests send /mytickets."
        )
    )
    return True


def period_problem(error: PeriodError, t: Translator, command: str = "/stats") -> str:
    """Why a period can't be reported on, and what to type instead."""
    if error.reason == "future":
        return t("{period} has not begun yet: there are no figures for it.", period=error.text)
    if error.reason == "too_long":
        return t("That range is longer than a year. Please ask for at most 366 days.")
    if error.reason == "order":
        return t("That range ends before it starts. Please give the earlier date first.")
    return t(
        'I don\'t know the period "{text}". Try {command} today, {command} week, {command} month, '
        "{command} 2026-11 or {command} 2026-11-01 2026-11-15.",
        text=error.text,
        command=command,
    )


async def stats_command(ctx: Context) -> None:
    """/stats [today|week|month|YYYY-MM|FROM TO]: the summary, a chart and buttons for the details."""
    if refuse(ctx):
        return
    try:
        period = periods.parse(ctx.inbound.args, today(ctx))
    except PeriodError as error:
        ctx.reply(period_problem(error, ctx.t))
        return
    await send_stats(ctx, period)


async def send_stats(ctx: Context, period: Period) -> None:
    """Compute the figures, draw the chart off the event loop, and answer with both."""
    from handlers.office import charts  # matplotlib loads only when someone asks for a chart

    t, site = ctx.t, ctx.services.site
    report = await figures.build(ctx.session, site, figures.scope_of(ctx.person), period, ctx.now)
    data = charts.ChartData(**reports.chart_labels(report, site, t))  # type: ignore[arg-type]
    png = await asyncio.to_thread(charts.stats_png, data)
    stored = await asyncio.to_thread(ctx.services.media.put_file, png, "png")
    views = [
        (StatsTap.MISSES, t("Promises missed")),
        (StatsTap.TECHNICIANS, t("Technicians")),
        (StatsTap.HOTSPOTS, t("Hotspots")),
        (StatsTap.RECURRING, t("Recurring faults")),
    ]
    buttons = [Choice(encode(StatsTap(view, period.code)), label) for view, label in views]
    ctx.reply(reports.summary(report, site, t), [buttons[:2], buttons[2:]], photos=[stored.sha256])


async def stats_button(ctx: Context, tap: StatsTap) -> None:
    """A detail view of the figures, for the tapper's own scope."""
    ctx.answer_tap()
    if refuse(ctx):
        return
    try:
        period = periods.from_code(tap.period, today(ctx))
    except PeriodError as error:
        ctx.reply(period_problem(error, ctx.t))
        return
    t, site = ctx.t, ctx.services.site
    report = await figures.build(ctx.session, site, figures.scope_of(ctx.person), period, ctx.now)
    if tap.view == StatsTap.MISSES:
        ctx.reply(reports.misses(report, t))
    elif tap.view == StatsTap.TECHNICIANS:
        ctx.reply(reports.technicians(report, t))
    elif tap.view == StatsTap.HOTSPOTS:
        ctx.reply(reports.hotspots(report, site, t))
    elif tap.view == StatsTap.RECURRING:
        ctx.reply(reports.recurring(report, site, t))
    else:
        ctx.reply(t("Sorry, I couldn't read that button."))
