"""Planned maintenance on the job card: the checklist, one item at a time, and arrival without a resident.

Each item is answered Pass / Fail, or by a value typed in its unit; anything else is asked again. A failed
item asks for a note and photos (they go to the repair it opens). At the end, photos or a note for the whole
visit, then Finish completes and closes the planned ticket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dispatch.notices import Notices
from dispatch.planned import checklist
from dispatch.planned.rules import split_key, work_of
from dispatch.repair.rules import JobRefused
from dispatch.site.assets import Asset, Check
from handlers.context import Context, end_dialog
from handlers.messages import Kind
from handlers.photos import store_inbound_photo
from handlers.refusals import refuse
from handlers.technician import visit as visit_steps
from handlers.technician.steps import after_step
from handlers.validate import clean_text, fold_width
from storage.models import Ticket

MAX_PHOTOS = 9


def asset_of(ctx: Context, ticket: Ticket) -> Asset | None:
    """The asset a planned ticket was opened for, if the site file still has it."""
    if not ticket.plan_key:
        return None
    code, asset, _ = split_key(ticket.plan_key)
    community = ctx.services.site.community(code)
    return community.asset(asset) if community else None


async def start_arrived(ctx: Context, ticket: Ticket) -> None:
    """Arrived: the resident's code, or for a repair with no resident, at once."""
    if work_of(ticket) != "unattended":
        await visit_steps.start_arrived(ctx, ticket)
        return
    try:
        await checklist.begin(ctx.session, ticket, ctx.person, ctx.now)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    await after_step(ctx, ticket, Notices(), ctx.t("Arrival at {number} recorded.", number=ticket.number))


async def start_checklist(ctx: Context, ticket: Ticket) -> None:
    """On site now; the first item."""
    asset = asset_of(ctx, ticket)
    if asset is None:
        end_dialog(ctx)
        ctx.reply(ctx.t("This equipment is no longer in the site file; please ask your supervisor."))
        return
    try:
        await checklist.begin(ctx.session, ticket, ctx.person, ctx.now)
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    ctx.conv.data = {"ticket": ticket.id, "answers": [], "photos": [], "note": ""}
    ctx.conv.step = "k_item"
    _ask_item(ctx, asset)


def _ask_item(ctx: Context, asset: Asset) -> None:
    done = len(ctx.conv.data.get("answers") or [])
    check = asset.checks[done]
    head = ctx.t(
        "📋 {asset} — item {n} of {total}:\n{item}",
        asset=asset.display(ctx.t.language),
        n=done + 1,
        total=len(asset.checks),
        item=check.display(ctx.t.language),
    )
    if check.is_value:
        ctx.clear_choices()
        ctx.reply(head + "\n" + ctx.t("Please type the value measured ({range}).", range=_range(check)))
        return
    ctx.ask(head, [("pass", ctx.t("✅ Pass")), ("fail", ctx.t("❌ Fail"))])


def _range(check: Check) -> str:
    low = f"{check.min:g}" if check.min is not None else ""
    high = f"{check.max:g}" if check.max is not None else ""
    span = f"{low}–{high}" if low and high else (f"≥ {low}" if low else f"≤ {high}" if high else "")
    return " ".join(part for part in (span, check.unit) if part)


async def step_item(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """One item's answer; one that is not a choice (or not a number) is asked again, politely."""
    asset = asset_of(ctx, ticket)
    if asset is None:
        end_dialog(ctx)
        return
    check = asset.checks[len(ctx.conv.data.get("answers") or [])]
    typed = fold_width(ctx.inbound.text) if ctx.inbound.kind == Kind.TEXT else ""
    answer = checklist.judge(check, value, typed)
    if answer is None:
        if check.is_value:
            ctx.reply(ctx.t("Sorry, that isn't a number. Please type the value, for example 0.5."))
        else:
            ctx.reply(ctx.t("Sorry, that isn't one of the answers. Please tap Pass or Fail."))
        _ask_item(ctx, asset)
        return
    if not answer.ok:
        ctx.conv.data = {**ctx.conv.data, "pending": answer.as_data()}
        ctx.conv.step = "k_fault"
        _ask_fault(ctx)
        return
    await _record(ctx, ticket, asset, answer.as_data())


def _ask_fault(ctx: Context) -> None:
    pending = ctx.conv.data.get("pending") or {}
    ctx.ask(
        ctx.t(
            "❌ Noted as failed; a repair will be opened for it. What is wrong? Type a short note and send "
            "photos if you can, then tap Done. Photos so far: {count}.",
            count=len(pending.get("photos") or []),
        ),
        [("done", ctx.t("Done"))],
    )


async def step_fault(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """A failed item's note and photos, until Done."""
    asset = asset_of(ctx, ticket)
    if asset is None:
        end_dialog(ctx)
        return
    pending = dict(ctx.conv.data.get("pending") or {})
    if value == "done":
        await _record(ctx, ticket, asset, pending)
        return
    pending = await _gather(ctx, pending, note_limit=500, append=True)
    ctx.conv.data = {**ctx.conv.data, "pending": pending}
    _ask_fault(ctx)


async def _gather(ctx: Context, bag: dict[str, Any], *, note_limit: int, append: bool) -> dict[str, Any]:
    """The bag with this event's photo or note added (a failed item's, or the whole visit's)."""
    bag = dict(bag)
    if ctx.inbound.kind == Kind.PHOTO:
        sha = await store_inbound_photo(ctx)
        if sha is not None and sha not in (bag.get("photos") or []):
            bag["photos"] = [*(bag.get("photos") or []), sha][:MAX_PHOTOS]
    elif ctx.inbound.kind == Kind.TEXT and clean_text(ctx.inbound.text):
        text = clean_text(ctx.inbound.text)
        bag["note"] = (" ".join(p for p in (bag.get("note"), text) if p) if append else text)[:note_limit]
    return bag


async def _record(ctx: Context, ticket: Ticket, asset: Asset, answer: dict[str, object]) -> None:
    answers = [*(ctx.conv.data.get("answers") or []), answer]
    ctx.conv.data = {k: v for k, v in ctx.conv.data.items() if k != "pending"} | {"answers": answers}
    if len(answers) < len(asset.checks):
        ctx.conv.step = "k_item"
        _ask_item(ctx, asset)
        return
    ctx.conv.step = "k_end"
    _ask_end(ctx)


def _ask_end(ctx: Context) -> None:
    ctx.ask(
        ctx.t(
            "Every item is answered. Send photos or a note for the record if you like, then tap Finish. "
            "Photos so far: {count}.",
            count=len(ctx.conv.data.get("photos") or []),
        ),
        [("finish", ctx.t("Finish"))],
    )


async def step_end(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Photos or a note for the visit; Finish records the checklist and closes the planned ticket."""
    asset = asset_of(ctx, ticket)
    if asset is None:
        end_dialog(ctx)
        return
    data = ctx.conv.data
    if value != "finish":
        ctx.conv.data = await _gather(ctx, data, note_limit=1000, append=False)
        _ask_end(ctx)
        return
    community = ctx.services.site.community(ticket.community) or ctx.community
    notices = Notices()
    try:
        repairs = await checklist.finish(
            ctx.session,
            community,
            asset,
            ticket,
            ctx.person,
            [checklist.Answer.from_data(a) for a in data.get("answers") or []],
            photos=list(data.get("photos") or []),
            note=str(data.get("note") or ""),
            now=ctx.now,
            notices=notices,
        )
    except JobRefused as exc:
        end_dialog(ctx)
        refuse(ctx, exc)
        return
    done = ctx.t("{number} is done and closed. Thank you!", number=ticket.number)
    if repairs:
        done += "\n" + ctx.t(
            "Repairs opened for the failed items: {numbers}", numbers=", ".join(r.number for r in repairs)
        )
    await after_step(ctx, ticket, notices, done)


STEPS: dict[str, Callable[[Context, Ticket, str | None], Awaitable[None]]] = {
    "checklist": step_item,
    "k_item": step_item,
    "k_fault": step_fault,
    "k_end": step_end,
}
