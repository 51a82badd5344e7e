"""/export for managers: the period's tickets as an XLSX file, without residents' contacts."""

from __future__ import annotations

import asyncio

from dispatch import exports, figures, staff
from dispatch.figures import PeriodError, periods
from handlers.context import Context
from handlers.i18n import N_, Translator
from handlers.messages import Document
from handlers.office.stats import period_problem, refuse, today

HEADERS = {
    "number": N_("Number"),
    "kind": N_("Kind"),
    "community": N_("Community"),
    "filed": N_("Filed"),
    "accepted": N_("Accepted"),
    "contacted": N_("Contacted"),
    "on_site": N_("On site"),
    "completed": N_("Completed"),
    "followed_up": N_("Followed up"),
    "category": N_("Category"),
    "urgency": N_("Urgency"),
    "building": N_("Building"),
    "unit": N_("Unit"),
    "technician": N_("Technician"),
    "rating": N_("Rating"),
    "fee": N_("Fee (yuan)"),
    "status": N_("Status"),
    "source": N_("Source"),
    "department": N_("Department"),
    "room": N_("Room"),
    "phone": N_("Phone"),
}


def headers(t: Translator) -> dict[str, str]:
    """The export's column titles in the reader's language."""
    return {key: t(label) for key, label in HEADERS.items()}


async def export_command(ctx: Context) -> None:
    """/export [month|week|YYYY-MM|FROM TO]: this month by default, as a spreadsheet."""
    if refuse(ctx):
        return
    t = ctx.t
    if ctx.person.role != staff.Role.MANAGER:
        ctx.reply(t("Exports are for managers. Ask your manager, or see /stats for your areas."))
        return
    try:
        period = periods.parse(ctx.inbound.args, today(ctx), default="month")
    except PeriodError as error:
        ctx.reply(period_problem(error, t, "/export"))
        return
    scope = figures.scope_of(ctx.person)
    rows = await exports.rows(ctx.session, ctx.services.site, scope, period, language=t.language)
    keys = exports.columns(with_contacts=False)
    data = await asyncio.to_thread(exports.to_xlsx, rows, keys, headers(t))
    stored = await asyncio.to_thread(ctx.services.media.put_file, data, "xlsx")
    name = f"baoxiu-{period.code}.xlsx"
    ctx.send(
        ctx.inbound.chat_id,
        t("Requests filed {first} to {last}: {n} rows.", first=period.first, last=period.last, n=len(rows)),
        documents=[Document(stored.sha256, name)],
    )
