"""Technicians in chat: grabbing offers, duty on and off, binding a chat with an invite code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import staff
from dispatch.notices import Notices
from dispatch.offers.grab import grab
from dispatch.offers.late_taps import read_tap
from dispatch.offers.pool import decline, offer_by_token
from handlers.context import Context, Services
from handlers.dispatching import emit
from handlers.i18n import N_, Translator, normalize_language
from handlers.messages import Inbound, Outbound
from handlers.router import BUTTONS, COMMANDS, QUICK_BUTTONS

GRAB_ANSWERS = {
    "taken": N_("Already taken by {holder}."),
    "not_technician": N_("Only registered technicians can take jobs."),
    "off_duty": N_("You are off duty. Send /onduty first."),
    "skill": N_("This job needs a skill you don't have on record."),
    "area": N_("This job is outside your areas."),
    "full": N_("You have reached today's capacity."),
    "cancelled": N_("This request was cancelled."),
    "closed": N_("This offer is closed."),
}
ROLE_NAMES = {
    "technician": N_("technician"),
    "supervisor": N_("supervisor"),
    "manager": N_("manager"),
    "cs": N_("customer service"),
    "resident": N_("resident"),
}


async def offer_button(ctx: Context, rest: str) -> None:
    """`o:<token>:a` accepts, `o:<token>:d` declines; both re-authorised against the database."""
    token, _, action = rest.partition(":")
    offer = await offer_by_token(ctx.session, token) if token and action in ("a", "d") else None
    if offer is None:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    community = ctx.services.site.community(ctx.person.community or "") or ctx.community
    notices = Notices()
    inbound = ctx.inbound
    if action == "d":
        reason = await decline(ctx.session, community, offer, ctx.person, ctx.now, notices)
    else:
        outcome = await grab(
            ctx.session,
            community,
            offer,
            ctx.person,
            channel=inbound.identity.channel,
            chat_id=inbound.chat_id,
            now=ctx.now,
            notices=notices,
        )
        reason = outcome.reason
        number = outcome.ticket.number if outcome.ticket is not None else ""
        if answer := grab_answer(ctx.t, reason or "yours", number, outcome.holder):
            ctx.answer_tap(answer)
    if reason in ("not_yours", "wrong_chat", "unknown"):
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
    elif reason == "closed":
        ctx.answer_tap(ctx.t(GRAB_ANSWERS["closed"]))
    await emit(ctx, notices)


def grab_answer(t: Translator, reason: str, number: str, holder: str) -> str | None:
    """The toast for a tap on Accept, or None when the reason has its own answer (or none)."""
    if reason == "yours":
        return t("✅ {number} is yours.", number=number)
    if reason in GRAB_ANSWERS:
        return t(GRAB_ANSWERS[reason], holder=holder or "—")
    return None


async def quick_offer_tap(
    session: AsyncSession, inbound: Inbound, services: Services
) -> list[Outbound] | None:
    """Accept on an offer already taken or cancelled: answered from one read (a grab storm's losers)."""
    token, _, action = inbound.button.partition(":")[2].partition(":")
    if action != "a" or not token:
        return None
    identity = inbound.identity
    tap = await read_tap(session, token, identity.channel, identity.external_id)
    reason = tap.settled(identity.channel, inbound.chat_id) if tap is not None else None
    if tap is None or reason is None:
        return None
    language = tap.tapper_language or normalize_language(inbound.language_code, services.default_language)
    text = grab_answer(Translator(language), reason, tap.number, tap.holder) or ""
    return [Outbound(identity.channel, inbound.chat_id, text=text, callback_id=inbound.callback_id)]


async def on_duty(ctx: Context) -> None:
    """/onduty."""
    await _duty(ctx, True)


async def off_duty(ctx: Context) -> None:
    """/offduty."""
    await _duty(ctx, False)


async def _duty(ctx: Context, on: bool) -> None:
    if ctx.person.role != staff.Role.TECHNICIAN:
        ctx.reply(ctx.t("That command is for technicians."))
        return
    await staff.set_duty(ctx.session, ctx.person, on, ctx.now)
    if on:
        ctx.reply(ctx.t("You are on duty; new jobs will be offered to you."))
    else:
        ctx.reply(ctx.t("You are off duty; no new offers until you send /onduty."))


async def bind(ctx: Context) -> None:
    """/bind CODE or the deep link /start inv_CODE: this chat now belongs to a member of staff."""
    args = ctx.inbound.args.strip()
    code = args.removeprefix("inv_") if args else ""
    if not code or not ctx.inbound.is_private:
        ctx.reply(ctx.t("Please open your invite link, or send /bind CODE in a private chat with me."))
        return
    try:
        person = await staff.redeem(ctx.session, code, ctx.now)
    except staff.StaffError as exc:
        answers = {
            "used": N_("That invite code has already been used. Ask the office for a new one."),
            "expired": N_("That invite code has expired. Ask the office for a new one."),
        }
        ctx.reply(ctx.t(answers.get(str(exc), N_("I don't know that invite code. Please check it."))))
        return
    channel, external = ctx.inbound.identity.channel, ctx.inbound.identity.external_id
    await staff.bind_identity(ctx.session, person, channel, external, ctx.inbound.chat_id, now=ctx.now)
    if not person.language:
        person.language = ctx.t.language
    ctx.person = person
    ctx.t = Translator(person.language or ctx.t.language)
    ctx.reply(
        ctx.t(
            "Welcome, {name}! This chat is now registered for you as {role}.",
            name=person.name,
            role=ctx.t(ROLE_NAMES.get(person.role, person.role)),
        )
    )


BUTTONS["o"] = offer_button
QUICK_BUTTONS["o"] = quick_offer_tap
COMMANDS["onduty"] = on_duty
COMMANDS["offduty"] = off_duty
COMMANDS["bind"] = bind
COMMANDS["start:inv"] = bind
