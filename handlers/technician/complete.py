"""Job steps with several inputs: the quote for paid work, and completion (photos, materials, labour, fee)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from dispatch.notices import Notices
from dispatch.planned.rules import residentless
from dispatch.repair import completion, quotes
from dispatch.repair.rules import JobRefused
from handlers.context import Context, end_dialog
from handlers.labels import money
from handlers.messages import Kind
from handlers.photos import store_inbound_photo
from handlers.refusals import refuse
from handlers.technician.steps import after_step
from handlers.validate import clean_text, fold_width
from storage.models import Quote, Ticket

LABOUR_CHOICES = (15, 30, 45, 60, 90, 120, 180, 240)


async def start_quote(ctx: Context, ticket: Ticket) -> None:
    """Ask for the items and prices."""
    ctx.clear_choices()
    ctx.reply(
        ctx.t(
            "Please send the items and prices for the resident to approve, one per line, for example:\n"
            "换水龙头 80\n人工费 50"
        )
    )


async def step_quote(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Parse the items, then send the quote to the resident."""
    if ctx.inbound.kind != Kind.TEXT:
        await start_quote(ctx, ticket)
        return
    notices = Notices()
    try:
        items = quotes.parse_quote(clean_text(fold_width(ctx.inbound.text)), ctx.services.policy)
        row = await quotes.quote(ctx.session, ticket, ctx.person, items, ctx.now, notices)
    except JobRefused as exc:
        refuse(ctx, exc)
        if exc.reason not in ("quote_format", "quote_amount"):
            end_dialog(ctx)
        return
    await after_step(
        ctx,
        ticket,
        notices,
        ctx.t(
            "Quote of {total} sent to the resident. Please wait for their "
            "approval before doing the paid work.",
            total=money(row.total_cents),
        ),
    )


async def start_complete(ctx: Context, ticket: Ticket) -> None:
    """First the after-photos."""
    if await quotes.pending_quote(ctx.session, ticket.id) is not None:
        end_dialog(ctx)
        ctx.reply(ctx.t("The resident hasn't answered the last quote yet."))
        return
    ctx.conv.data = {**ctx.conv.data, "photos": []}
    ctx.conv.step = "c_photos"
    _ask_photos(ctx)


def _ask_photos(ctx: Context) -> None:
    count = len(ctx.conv.data.get("photos") or [])
    need = ctx.services.policy.min_after_photos
    text = ctx.t(
        "Please send photos of the finished work (at least {n}), then tap Done. Sent so far: {count}.",
        n=need,
        count=count,
    )
    ctx.ask(text, [("done", ctx.t("Done"))] if count >= need else [("cancel", ctx.t("Cancel"))])


async def step_photos(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Collect after-photos until Done."""
    if value == "cancel":
        end_dialog(ctx)
        ctx.reply(ctx.t("Completion cancelled; the job is unchanged."))
        return
    if value == "done" and len(ctx.conv.data.get("photos") or []) >= ctx.services.policy.min_after_photos:
        ctx.conv.step = "c_materials"
        ctx.ask(ctx.t("Which materials did you use? Type them, or tap None."), [("none", ctx.t("None"))])
        return
    if ctx.inbound.kind == Kind.PHOTO:
        sha = await store_inbound_photo(ctx)
        if sha is not None and sha not in ctx.conv.data["photos"]:
            ctx.conv.data = {**ctx.conv.data, "photos": [*ctx.conv.data["photos"], sha][:9]}
    _ask_photos(ctx)


async def step_materials(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Materials used, then whether the resident supplied any."""
    if value != "none" and not (ctx.inbound.kind == Kind.TEXT and clean_text(ctx.inbound.text)):
        ctx.ask(ctx.t("Which materials did you use? Type them, or tap None."), [("none", ctx.t("None"))])
        return
    ctx.conv.data = {
        **ctx.conv.data,
        "materials": "" if value == "none" else clean_text(ctx.inbound.text)[:2000],
    }
    ctx.conv.step = "c_customer"
    ctx.ask(
        ctx.t("Did the resident supply any of the materials?"),
        [("no", ctx.t("No, none")), ("yes", ctx.t("Yes"))],
    )


async def step_customer(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Customer-supplied materials get a quality remark."""
    if ctx.conv.step == "c_customer":
        if value == "yes":
            ctx.conv.step = "c_customer_note"
            ctx.clear_choices()
            ctx.reply(
                ctx.t(
                    "Please note what they supplied and its quality (for example: 业主自购水龙头，质量一般)."
                )
            )
            return
        if value != "no":
            ctx.ask(
                ctx.t("Did the resident supply any of the materials?"),
                [("no", ctx.t("No, none")), ("yes", ctx.t("Yes"))],
            )
            return
        ctx.conv.data = {**ctx.conv.data, "customer": ""}
    else:
        if ctx.inbound.kind != Kind.TEXT or not clean_text(ctx.inbound.text):
            ctx.reply(
                ctx.t(
                    "Please note what they supplied and its quality (for example: 业主自购水龙头，质量一般)."
                )
            )
            return
        ctx.conv.data = {**ctx.conv.data, "customer": clean_text(ctx.inbound.text)[:1000]}
    ctx.conv.step = "c_labour"
    ctx.ask(
        ctx.t("How long did the work take? Choose or type minutes."),
        [(f"min:{m}", ctx.t("{n} min", n=m)) for m in LABOUR_CHOICES],
        columns=4,
    )


async def step_labour(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """Labour minutes, then the fee."""
    typed = fold_width(ctx.inbound.text).strip() if ctx.inbound.kind == Kind.TEXT else ""
    minutes = (
        int(value[4:]) if value and value.startswith("min:") else (int(typed) if typed.isdigit() else -1)
    )
    if not 0 < minutes <= 24 * 60:
        ctx.reply(ctx.t("Please give the minutes as a number between 1 and 1440."))
        return
    ctx.conv.data = {**ctx.conv.data, "labour": minutes}
    ctx.conv.step = "c_fee"
    approved = (
        (
            await ctx.session.execute(
                select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "approved")
            )
        )
        .scalars()
        .all()
    )
    total = sum(q.total_cents for q in approved)
    options = [("fee:quote", ctx.t("{total} (approved quote)", total=money(total)))] if total else []
    options.append(("fee:0", ctx.t("No charge")))
    ctx.ask(ctx.t("What is the fee? Choose, or type an amount in yuan."), options, columns=1)


async def step_fee(ctx: Context, ticket: Ticket, value: str | None) -> None:
    """The fee, then the job is completed."""
    fee: int | None
    if value == "fee:quote":
        fee = None
    elif value == "fee:0":
        fee = 0
    else:
        try:
            fee = round(float(fold_width(ctx.inbound.text).replace("¥", "").replace("元", "").strip()) * 100)
        except ValueError:
            ctx.reply(ctx.t("Please type the fee as a number of yuan, for example 120."))
            return
    data = ctx.conv.data
    notices = Notices()
    try:
        await completion.complete(
            ctx.session,
            ticket,
            ctx.person,
            after_photos=list(data.get("photos") or []),
            materials=data.get("materials", ""),
            labour_minutes=int(data.get("labour", 0)),
            fee_cents=fee,
            customer_materials=data.get("customer", ""),
            now=ctx.now,
            notices=notices,
            policy=ctx.services.policy,
        )
    except JobRefused as exc:
        refuse(ctx, exc)
        if exc.reason != "numbers":
            end_dialog(ctx)
        return
    done = (
        ctx.t("{number} is done and closed. Thank you!", number=ticket.number)
        if residentless(ticket)
        else ctx.t("{number} is complete. The resident has been asked to confirm.", number=ticket.number)
    )
    await after_step(ctx, ticket, notices, done)


STEPS: dict[str, Callable[[Context, Ticket, str | None], Awaitable[None]]] = {
    "quote": step_quote,
    "complete": step_photos,
    "c_photos": step_photos,
    "c_materials": step_materials,
    "c_customer": step_customer,
    "c_customer_note": step_customer,
    "c_labour": step_labour,
    "c_fee": step_fee,
}
