"""The dashboard page's content: the figures of the person's scope for the chosen period and filters, the
open tickets at risk, the technicians; rendered with Jinja2 (bot/ops/templates/dashboard.html)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import figures
from dispatch.figures import PeriodError, periods
from dispatch.lifecycle import OPEN
from handlers.context import Services
from handlers.i18n import N_, Translator
from handlers.labels import category_name, display
from handlers.office.stats import period_problem
from handlers.templates import reports
from handlers.templates.digests import DEADLINES
from storage.models import Person
from storage.repositories import Tickets

AT_RISK = timedelta(minutes=30)
_ENV = Environment(loader=PackageLoader("bot.ops", "templates"), autoescape=select_autoescape(["html"]))
# Every word on the page, marked for the catalogs (the template shows them translated).
LABELS = {
    "title": N_("Repairs dashboard"),
    "period": N_("Period"),
    "community": N_("Community"),
    "area": N_("Area"),
    "all": N_("All"),
    "show": N_("Show"),
    "logout": N_("Log out"),
    "today": N_("Today"),
    "week": N_("This week"),
    "month": N_("This month"),
    "or_month": N_("or a month (2026-11) or two dates"),
    "requests": N_("Requests"),
    "completed": N_("Completed"),
    "open_now": N_("Open now"),
    "response": N_("Response, median"),
    "arrival": N_("Arrival, median"),
    "completion": N_("Completion, median"),
    "p90": N_("90% within"),
    "ftf": N_("First-time fix"),
    "rework": N_("Rework"),
    "satisfaction": N_("Satisfaction"),
    "followup": N_("Follow-up"),
    "promises": N_("Promises"),
    "kept": N_("kept"),
    "missed": N_("missed"),
    "pending": N_("pending"),
    "misses": N_("Misses"),
    "at_risk": N_("Open tickets at risk"),
    "number": N_("Number"),
    "category": N_("Category"),
    "what": N_("What is due"),
    "due": N_("Due"),
    "late": N_("late"),
    "nothing_at_risk": N_("Nothing is overdue or at risk."),
    "technicians": N_("Technicians"),
    "name": N_("Name"),
    "jobs": N_("Jobs"),
    "handbacks": N_("Handed back"),
    "rating": N_("Rating"),
    "hotspots": N_("Hotspots"),
    "recurring": N_("Recurring faults"),
    "none": N_("None"),
    "comments": N_("Comments"),
}


def _options(services: Services, person: Person, t: Translator) -> dict[str, Any]:
    """The communities and areas this person may filter by."""
    site = services.site
    scope = figures.scope_of(person)
    communities = [c for c in site.communities if scope.community in (None, c.code)]
    areas = sorted({a for c in communities for a in c.areas if scope.areas is None or a in scope.areas})
    return {
        "communities": [(c.code, display(c, t.language)) for c in communities],
        "areas": areas,
    }


async def render(
    session: AsyncSession, services: Services, person: Person, params: Mapping[str, str], t: Translator
) -> str:
    """The whole page for this person and these query parameters."""
    site, now = services.site, services.clock.now()
    home = site.community(person.community or "") or site.default
    today = now.astimezone(home.timezone).date()
    asked = params.get("period", "week").strip() or "week"
    error = ""
    try:
        period = periods.parse(asked, today)
    except PeriodError as problem:
        error = period_problem(problem, t, "")
        period = periods.named("week", today)
    scope = figures.narrow(
        figures.scope_of(person), params.get("community") or None, params.get("area") or None
    )
    if scope is None:
        error = t("That community or area is not one of yours; showing all of yours.")
        scope = figures.scope_of(person)
    report = await figures.build(session, site, scope, period, now)
    community = site.community(scope.community or "") or home
    at_risk = await Tickets(session).at_risk(now + AT_RISK, OPEN, scope.community, scope.areas)
    labels = reports.chart_labels(report, site, t)
    charts = await asyncio.to_thread(_charts, labels)
    context = {
        "L": {key: t(text) for key, text in LABELS.items()},
        "lang": "en" if t.language == "en" else "zh-CN",
        "lang_code": t.language,
        "person": person,
        "error": error,
        "asked": asked,
        "chosen": {"community": params.get("community", ""), "area": params.get("area", "")},
        "options": _options(services, person, t),
        "scope": reports.scope_words(report.scope, site, t),
        "period": reports.period_words(report.period, t),
        "r": report,
        "minutes": lambda value: reports.minutes(value, t),
        "percent": reports.percent,
        "open_now": sum(n for s, n in report.by_status.items() if s not in ("closed", "cancelled")),
        "promises": [
            {"name": t(reports.PROMISE_NAMES[p.name]), "p": p, "percent": reports.percent(p.percent)}
            for p in report.promises
        ],
        "at_risk": [_risk_row(ticket, kind, due, now, community, t) for ticket, kind, due in at_risk[:50]],
        "buildings": [
            (reports.place(site, p.community, p.building, None, None, t), p.tickets) for p in report.buildings
        ],
        "units": [
            (reports.place(site, p.community, p.building, p.unit, None, t), p.tickets) for p in report.units
        ],
        "recurring": reports.recurring(report, site, t).split("\n")[1:],
        "charts": charts,
    }
    return _ENV.get_template("dashboard.html").render(**context)


def _risk_row(
    ticket: Any, kind: str, due: datetime, now: datetime, community: Any, t: Translator
) -> dict[str, str]:
    minutes = int((now - due).total_seconds() // 60)
    state = t("{n} min late", n=minutes) if minutes >= 0 else t("due in {n} min", n=-minutes)
    return {
        "number": ticket.number,
        "category": category_name(community, ticket.category, t.language),
        "what": t(DEADLINES.get(kind, kind)),
        "due": due.astimezone(community.timezone).strftime("%m-%d %H:%M"),
        "state": state,
        "late": "late" if minutes >= 0 else "",
    }


def _charts(labels: dict[str, Any]) -> dict[str, str]:
    """The three charts as inline SVG (blocking: run in a thread)."""
    from handlers.office import charts

    return {
        "days": charts.columns_svg(labels["days"], labels["days_title"]),
        "categories": charts.rows_svg(labels["categories"], labels["categories_title"], labels["empty"]),
        "promises": charts.percents_svg(labels["promises"], labels["promises_title"], labels["empty"]),
    }
