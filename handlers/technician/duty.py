"""Technicians and staff in chat: duty on and off, binding a chat with an invite code."""

from __future__ import annotations

from dispatch import staff
from handlers.context import Context
from handlers.i18n import N_, Translator

ROLE_NAMES = {
    "technician": N_("technician"),
    "supervisor": N_("supervisor"),
    "manager": N_("manager"),
    "cs": N_("customer service"),
    "resident": N_("resident"),
}


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
