"""The figures in words: the /stats summary and its detail views, the digests, the chart's labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from dispatch.figures import Period, Report, Scope
from dispatch.figures.report import Matters, Times
from dispatch.site import Site, format_duration
from handlers.i18n import N_, Translator
from handlers.labels import (
    category_name,
    department_name,
    display,
    matter_kind_name,
    status_name,
    urgency_name,
)

PROMISE_NAMES = {
    "grab": N_("Taken within the grab window"),
    "contact": N_("Resident contacted in time"),
    "arrival": N_("Urgent arrival in time"),
    "same_day": N_("Completed the same day"),
}
PERIOD_NAMES = {
    "today": N_("today"),
    "yesterday": N_("yesterday"),
    "week": N_("this week"),
    "month": N_("this month"),
    "last_week": N_("last week"),
}
SOURCE_NAMES = {
    "telegram": N_("Telegram"),
    "wechat": N_("WeChat"),
    "wecom": N_("WeCom"),
    "console": N_("Console"),
    "unknown": N_("Unknown"),
}
LIST_MAX = 10


def minutes(value: float | None, t: Translator) -> str:
    """A duration in minutes in words ("—" when there is none)."""
    if value is None:
        return "—"
    return format_duration(timedelta(minutes=round(value)), t.language)


def percent(value: float | None) -> str:
    """A share as "92%" ("—" when there is none)."""
    return "—" if value is None else f"{value:.0f}%"


def period_words(period: Period, t: Translator) -> str:
    """ "this week (2026-11-23 – 2026-11-25)", or just the dates."""
    name = PERIOD_NAMES.get(period.name)
    return f"{t(name)} ({period.label()})" if name else period.label()


def scope_words(scope: Scope, site: Site, t: Translator) -> str:
    """Whose figures: a community and its areas, or every community."""
    community = site.community(scope.community) if scope.community else None
    where = display(community, t.language) if community else t("all communities")
    if scope.areas:
        where += " · " + ", ".join(scope.areas)
    return where


def place(
    site: Site, community: str, building: str, unit: str | None, room: str | None, t: Translator
) -> str:
    """1号楼 1单元 1203 / Building 1, Unit 1, 1203 (a building alone when no unit)."""
    c = site.community(community) or site.default
    b = c.building(building)
    parts = [display(b, t.language) if b else building]
    u = b.unit(unit) if b and unit else None
    if unit:
        parts.append(display(u, t.language) if u else unit)
    if room:
        parts.append(room)
    return " ".join(parts)


def _times(label: str, times: Times, t: Translator) -> str:
    return t(
        "{what}: median {median}, 90% within {p90} ({n} tickets)",
        what=label,
        median=minutes(times.median, t),
        p90=minutes(times.p90, t),
        n=times.count,
    )


def summary(report: Report, site: Site, t: Translator) -> str:
    """The short summary under the /stats chart (fits a photo's caption)."""
    head = [
        t("📊 Figures: {scope}", scope=scope_words(report.scope, site, t)),
        period_words(report.period, t),
    ]
    return "\n".join([*head, body(report, t)])


def body(report: Report, t: Translator) -> str:
    """The figures in a few lines: counts, times, promises, fixes, satisfaction."""
    open_now = sum(n for status, n in report.by_status.items() if status not in ("closed", "cancelled"))
    kept = " · ".join(
        f"{t(PROMISE_NAMES[p.name])} {percent(p.percent)}" for p in report.promises if p.met + p.missed
    )
    lines = [
        t(
            "Requests: {n} · completed {done} · not finished {open}",
            n=report.total,
            done=report.completed,
            open=open_now,
        ),
        _times(t("Response (filed → accepted)"), report.response, t),
        _times(t("Arrival (accepted → on site)"), report.arrival, t),
        _times(t("Completion (filed → completed)"), report.completion, t),
    ]
    if kept:
        lines.append(kept)
    lines.append(
        t(
            "First-time fix {ftf} · rework {rework} · follow-up {followed}",
            ftf=percent(report.first_time_fix_rate),
            rework=percent(report.rework_rate),
            followed=percent(report.followup_rate),
        )
    )
    if report.rated:
        lines.append(
            t(
                "Satisfaction {mean} / 5 from {n} ratings, {happy} gave 4-5",
                mean=f"{report.rating_mean:.1f}",
                n=report.rated,
                happy=percent(report.happy_share),
            )
        )
    if report.matters.total:
        lines.append(matters_line(report.matters, t))
    return "\n".join(lines)


def matters_line(m: Matters, t: Translator) -> str:
    """Matters (报事) in one line: how many, accepted and handled (medians), satisfaction, follow-up."""
    return t(
        "Matters (complaints, suggestions …): {n} · accepted in {accepted} · handled in {handled} · "
        "rating {rating} · follow-up {followed}",
        n=m.total,
        accepted=minutes(m.response.median, t),
        handled=minutes(m.handled.median, t),
        rating=f"{m.rating_mean:.1f}" if m.rating_mean is not None else "—",
        followed=percent(m.followup_rate),
    )


def misses(report: Report, t: Translator) -> str:
    """Each promise with its misses (the latest first)."""
    lines = [t("Promises and misses, {period}", period=period_words(report.period, t))]
    for promise in report.promises:
        lines.append(
            f"• {t(PROMISE_NAMES[promise.name])}: {percent(promise.percent)} "
            + t("({met} kept, {missed} missed, {pending} pending)", **_counts(promise))
        )
        for miss in promise.misses[:LIST_MAX]:
            late = minutes(miss.late, t)
            note = (
                t("still open, {late} late", late=late) if miss.outstanding else t("{late} late", late=late)
            )
            lines.append(f"   {miss.number} · {note}")
        if len(promise.misses) > LIST_MAX:
            lines.append("   " + t("… and {n} more", n=len(promise.misses) - LIST_MAX))
    return "\n".join(lines)


def _counts(promise: object) -> dict[str, int]:
    return {k: int(getattr(promise, k)) for k in ("met", "missed", "pending")}


def technicians(report: Report, t: Translator) -> str:
    """One line per technician: jobs, hand-backs, median arrival and completion, rating, rework."""
    lines = [t("Technicians, {period}", period=period_words(report.period, t))]
    if not report.technicians:
        lines.append(t("No jobs in this period."))
    for row in report.technicians[:30]:
        rating = f"{row.rating:.1f}" if row.rating is not None else "—"
        lines.append(
            t(
                "{name}: {jobs} jobs, {handbacks} handed back, arrival {arrival}, done in {done}, "
                "rating {rating}, rework {rework}",
                name=row.name,
                jobs=row.jobs,
                handbacks=row.handbacks,
                arrival=minutes(row.arrival, t),
                done=minutes(row.completion, t),
                rating=rating,
                rework=row.reworks,
            )
        )
    return "\n".join(lines)


def hotspots(report: Report, site: Site, t: Translator) -> str:
    """Buildings and entrances with the most requests, and the counts by kind."""
    lines = [t("Hotspots, {period}", period=period_words(report.period, t))]
    if report.buildings:
        lines.append(t("Buildings:"))
        lines += [
            f"• {place(site, p.community, p.building, None, None, t)}: {p.tickets}" for p in report.buildings
        ]
        lines.append(t("Entrances:"))
        lines += [
            f"• {place(site, p.community, p.building, p.unit, None, t)}: {p.tickets}" for p in report.units
        ]
    else:
        lines.append(t("No requests with an address in this period."))
    community = site.community(report.scope.community or "") or site.default
    lines.append(
        t("By urgency:") + " " + _pairs(report.by_urgency, lambda c: urgency_name(community, c, t.language))
    )
    lines.append(t("By source:") + " " + _pairs(report.by_source, lambda c: t(SOURCE_NAMES.get(c, c))))
    lines.append(t("By status:") + " " + _pairs(report.by_status, lambda c: status_name(c, t)))
    if report.matters.total:
        lang = t.language
        lines.append(
            t("Matters by kind:") + " " + _pairs(report.matters.by_kind, lambda k: matter_kind_name(k, t))
        )
        lines.append(
            t("Matters by department:")
            + " "
            + _pairs(report.matters.by_department, lambda d: department_name(community, d, lang))
        )
    return "\n".join(lines)


def _pairs(counts: dict[str, int], name: Callable[[str], str]) -> str:
    return " · ".join(f"{name(code)} {n}" for code, n in counts.items()) or "—"


def recurring(report: Report, site: Site, t: Translator) -> str:
    """The same fault at one place 3 or more times in 90 days, with a hint for preventive work."""
    lines = [t("Recurring faults (3 or more in the 90 days to {day})", day=report.period.last.isoformat())]
    if not report.recurring:
        lines.append(t("None: no place had the same fault three times."))
    for r in report.recurring[:LIST_MAX]:
        community = site.community(r.community) or site.default
        lines.append(
            t(
                "• {place}: {category} {n} times, last on {day}",
                place=place(site, r.community, r.building, r.unit, r.room, t),
                category=category_name(community, r.category, t.language),
                n=r.count,
                day=r.last.astimezone(community.timezone).date().isoformat(),
            )
        )
    if report.recurring:
        lines.append(
            t("Hint: plan a preventive inspection at these places instead of repairing the same fault again.")
        )
    return "\n".join(lines)


def chart_labels(report: Report, site: Site, t: Translator) -> dict[str, object]:
    """What the chart shows, translated: keyword arguments for charts.ChartData."""
    community = site.community(report.scope.community or "") or site.default
    return {
        "title": t("Repairs, {period}", period=period_words(report.period, t)),
        "days_title": t("Requests per day"),
        "days": [(day.strftime("%m-%d"), n) for day, n in report.per_day],
        "categories_title": t("By category"),
        "categories": [(category_name(community, c, t.language), n) for c, n in report.by_category.items()],
        "promises_title": t("Promises kept"),
        "promises": [(t(PROMISE_NAMES[p.name]), p.percent) for p in report.promises],
        "empty": t("no data"),
    }


def low_ratings(rows: Sequence[tuple[str, int, str]], t: Translator) -> list[str]:
    """Lines for low ratings: number, stars, the resident's words."""
    return [f"• {number} · {'★' * stars} {text[:60]}".rstrip() for number, stars, text in rows]
