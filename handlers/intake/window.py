"""Intake, when: the time a visit suits the resident, from buttons or typed."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_
from handlers.intake.draft import Outcome, next_after, save
from handlers.messages import Kind
from handlers.validate import (
    clean_text,
)

WINDOWS = {
    "asap": N_("As soon as possible"),
    "today_pm": N_("This afternoon"),
    "evening": N_("This evening (after 18:00)"),
    "tomorrow_am": N_("Tomorrow morning"),
    "tomorrow_pm": N_("Tomorrow afternoon"),
    "weekend": N_("At the weekend"),
}


async def prompt_window(ctx: Context) -> None:
    """When a visit suits the resident."""
    options = [(f"w:{k}", ctx.t(v)) for k, v in WINDOWS.items()]
    ctx.ask(ctx.t("When would a visit suit you? Choose one of the times, or type one."), options, columns=2)


async def handle_window(ctx: Context, value: str | None) -> Outcome:
    """Take a window from a button or typed text."""
    if value and value.startswith("w:") and value[2:] in WINDOWS:
        window = WINDOWS[value[2:]]
    elif ctx.inbound.kind == Kind.TEXT and clean_text(ctx.inbound.text):
        window = clean_text(ctx.inbound.text)
        if len(window) > 100:
            ctx.reply(ctx.t("Please keep the time short, for example “Saturday 9-11”."))
            return True
    else:
        return False
    save(ctx, {"window": window})
    return next_after(ctx, "window")
