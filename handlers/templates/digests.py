"""Digests (notices about no ticket): the daily summary for supervisors and the weekly one for managers."""

from __future__ import annotations

from typing import Any

from dispatch.figures import Report
from handlers.i18n import N_
from handlers.messages import Outbound
from handlers.templates import reports
from handlers.templates.view import NoticeView, message

LIST_MAX = 10

# What each deadline kind (a timer's, or a promise's) means, for the overdue lists.
DEADLINES = {
    "same_day": N_("Not finished the same day"),
    "grab": N_("Nobody has taken it"),
    "manager": N_("Nobody has taken it"),
    "contact": N_("Resident not contacted"),
    "arrival": N_("Technician not there"),
    "stall": N_("No progress"),
    "requeue": N_("Waiting for the next slot"),
    "hold_end": N_("Hold overran"),
    "confirm_remind": N_("Resident has not confirmed"),
    "confirm_timeout": N_("Resident has not confirmed"),
}


def _text(v: NoticeView, heading: str) -> str:
    d: dict[str, Any] = v.notice.data
    report: Report = d["report"]
    t, site = v.t, v.services.site
    lines = [heading, reports.scope_words(report.scope, site, t), reports.body(report, t), ""]
    lines.append(t("Open now: {open} · overdue: {late}", open=d["open"], late=len(d["overdue"])))
    for number, kind, late in d["overdue"][:LIST_MAX]:
        lines.append(
            f"• {number} · {t(DEADLINES.get(kind, kind))} · "
            + t("{late} late", late=reports.minutes(late, t))
        )
    if d["low"]:
        lines.append(t("Low ratings:"))
        lines += reports.low_ratings(d["low"], t)
    lines += ["", t("Send /stats for the chart and details, /dashboard for the page.")]
    return "\n".join(lines)


def digest_daily(v: NoticeView) -> Outbound:
    """The daily summary: yesterday's figures, open and overdue tickets, low ratings."""
    report: Report = v.notice.data["report"]
    heading = v.t("🗓 Daily summary for {day}", day=report.period.first.isoformat())
    return message(_text(v, heading))


def digest_weekly(v: NoticeView) -> Outbound:
    """The weekly summary: last week's figures and what is open now."""
    report: Report = v.notice.data["report"]
    heading = v.t("🗓 Weekly summary, {period}", period=report.period.label())
    return message(_text(v, heading))
