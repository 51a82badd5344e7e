"""Intake, who to call: the saved number, Telegram's shared contact, or a typed number."""

from __future__ import annotations

from handlers.context import Context
from handlers.intake.draft import Outcome, next_after, save
from handlers.messages import Kind, ReplyKeyboard
from handlers.validate import (
    normalize_phone,
)


async def prompt_phone(ctx: Context) -> None:
    """A number the technician can call: saved, shared or typed."""
    t = ctx.t
    # Typing works on every app; where the app has a share-contact button it appears under the question.
    text = t("Which phone number can the technician call? Please type the number.")
    if ctx.person.phone:
        ctx.ask(
            text,
            [("saved", t("Use {phone}", phone=ctx.person.phone))],
            keyboard=ReplyKeyboard.CONTACT,
            keyboard_label=t("📱 Share my phone number"),
        )
    else:
        ctx.clear_choices()
        ctx.reply(text, keyboard=ReplyKeyboard.CONTACT, keyboard_label=t("📱 Share my phone number"))


async def handle_phone(ctx: Context, value: str | None) -> Outcome:
    """Take a shared contact, the saved number, or a typed number."""
    if value == "saved" and ctx.person.phone:
        phone: str | None = ctx.person.phone
    elif ctx.inbound.kind == Kind.CONTACT:
        phone = normalize_phone(ctx.inbound.phone)
    elif ctx.inbound.kind == Kind.TEXT:
        phone = normalize_phone(ctx.inbound.text)
    else:
        return False
    if phone is None:
        ctx.reply(
            ctx.t(
                "That doesn't look like a phone number. Please type a mobile number such as "
                "13812345678, or a landline with its area code such as 0755-12345678."
            )
        )
        return True
    ctx.person.phone = phone
    save(ctx, {"phone": phone})
    return next_after(ctx, "phone")
