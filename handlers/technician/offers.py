"""Grab offers (抢单): Accept or Not for me, each tap re-authorised; losers' taps answered from one read."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dispatch.notices import Notices
from dispatch.offers.grab import grab
from dispatch.offers.late_taps import read_tap
from dispatch.offers.pool import decline, offer_by_token
from handlers.buttons import OfferTap
from handlers.context import Context, Services
from handlers.i18n import N_, Translator, normalize_language
from handlers.messages import Inbound, Outbound

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


async def offer_button(ctx: Context, tap: OfferTap) -> None:
    """Accept or decline, both re-authorised against the database."""
    action = tap.action
    offer = (
        await offer_by_token(ctx.session, tap.token)
        if action in (OfferTap.ACCEPT, OfferTap.DECLINE)
        else None
    )
    if offer is None:
        ctx.answer_tap(ctx.t("Sorry, I couldn't read that button."))
        return
    community = ctx.services.site.community(ctx.person.community or "") or ctx.community
    notices = Notices()
    inbound = ctx.inbound
    if action == OfferTap.DECLINE:
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
    ctx.tell(notices)


def grab_answer(t: Translator, reason: str, number: str, holder: str) -> str | None:
    """The toast for a tap on Accept, or None when the reason has its own answer (or none)."""
    if reason == "yours":
        return t("✅ {number} is yours.", number=number)
    if reason in GRAB_ANSWERS:
        return t(GRAB_ANSWERS[reason], holder=holder or "—")
    return None


async def quick_offer_tap(
    session: AsyncSession | AsyncConnection, inbound: Inbound, tap: OfferTap, services: Services
) -> list[Outbound] | None:
    """Accept on an offer already taken or cancelled: answered from one read (a grab storm's losers)."""
    if tap.action != OfferTap.ACCEPT:
        return None
    identity = inbound.identity
    read = await read_tap(session, tap.token, identity.channel, identity.external_id)
    reason = read.settled(identity.channel, inbound.chat_id) if read is not None else None
    if read is None or reason is None:
        return None
    language = read.tapper_language or normalize_language(inbound.language_code, services.default_language)
    text = grab_answer(Translator(language), reason, read.number, read.holder) or ""
    return [Outbound(identity.channel, inbound.chat_id, text=text, callback_id=inbound.callback_id)]
