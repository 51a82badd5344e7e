"""The summary to confirm, and filing the matter (then it is routed to its department)."""

from __future__ import annotations

from dispatch.matters.filing import MatterDraft, submit_matter
from dispatch.notices import Notices
from dispatch.site import format_duration
from handlers.context import Context, end_dialog
from handlers.dialog import Goto, Outcome
from handlers.labels import department_name, matter_kind_name
from handlers.matters.draft import draft


def summary_text(ctx: Context) -> str:
    """The matter as the resident will confirm it."""
    t, d, lang = ctx.t, draft(ctx), ctx.t.language
    lines = [
        t("Please check your report:"),
        t("Kind: {kind}", kind=matter_kind_name(str(d.get("kind") or ""), t)),
        t(
            "To: {department}",
            department=department_name(ctx.community, str(d.get("department") or ""), lang),
        ),
        t("What: {text}", text=d.get("description", "")),
    ]
    if d.get("location_text"):
        lines.append(t("Where: {place}", place=d["location_text"]))
    if d.get("photos"):
        lines.append(t("Photos: {n}", n=len(d["photos"])))
    if d.get("about_someone"):
        lines.append(t("About a member of staff: {name}", name=d.get("about_name") or t("not named")))
    lines.append(t("You stay anonymous.") if d.get("anonymous") else t("Your name and phone are shown."))
    return "\n".join(lines)


async def prompt_summary(ctx: Context) -> Goto | None:
    """Confirm, start over, or cancel."""
    t = ctx.t
    ctx.ask(
        summary_text(ctx),
        [("confirm", t("✅ Send it")), ("restart", t("✏️ Start over")), ("cancel", t("Cancel"))],
        columns=3,
    )
    return None


async def handle_summary(ctx: Context, value: str | None) -> Outcome:
    """File it, start over, or cancel."""
    if value == "confirm":
        await _file(ctx)
        return True
    if value == "restart":
        return Goto("kind")
    if value == "cancel":
        end_dialog(ctx)
        ctx.reply(ctx.t("Cancelled; nothing was sent. Send /report to start again."))
        return True
    return False


async def _file(ctx: Context) -> None:
    d, community, t = draft(ctx), ctx.community, ctx.t
    request = MatterDraft(
        community=community.code,
        kind=str(d.get("kind") or "inquiry"),
        department=str(d.get("department") or community.matters.default_department),
        description=str(d.get("description") or ""),
        phone=ctx.person.phone or "",
        anonymous=bool(d.get("anonymous")),
        about_staff_id=d.get("about"),
        location_text=str(d.get("location_text") or ""),
        latitude=d.get("latitude"),
        longitude=d.get("longitude"),
        photos=list(d.get("photos") or []),
    )
    notices = Notices()
    ticket = await submit_matter(
        ctx.session, community, ctx.person.id, request, now=ctx.now, language=t.language, notices=notices
    )
    end_dialog(ctx)
    promise = community.matters.deadlines_for(request.department, request.kind)
    ctx.reply(
        t(
            "Your {kind} is sent to {department}. Number: {number}",
            kind=matter_kind_name(request.kind, t).lower()
            if t.language == "en"
            else matter_kind_name(request.kind, t),
            department=department_name(community, request.department, t.language),
            number=ticket.number,
        )
        + "\n"
        + t(
            "You will have an answer within {duration}.", duration=format_duration(promise.answer, t.language)
        )
        + "\n"
        + t("Send /mytickets to see where it stands.")
    )
    ctx.tell(notices)
