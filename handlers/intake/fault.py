"""Intake, what: the fault in words (a voice note may come too), a self-check tip, category and urgency."""

from __future__ import annotations

from handlers.context import Context, end_dialog
from handlers.intake.draft import Goto, Outcome, draft, next_after, save
from handlers.intake.photos import take_photo
from handlers.labels import category_name, display, urgency_name
from handlers.messages import Kind, ReplyKeyboard
from handlers.validate import (
    MAX_DESCRIPTION,
    clean_text,
    description_problem,
)


async def prompt_description(ctx: Context) -> None:
    """What is wrong, in words."""
    ctx.clear_choices()
    ctx.reply(
        ctx.t(
            "Please describe the problem in a few words: what is broken, where, and since when. "
            "You may add a voice message too."
        ),
        keyboard=ReplyKeyboard.REMOVE,
    )


async def handle_description(ctx: Context, value: str | None) -> Outcome:
    """Take the description (a voice note or photo is kept and the words still asked for)."""
    t, kind = ctx.t, ctx.inbound.kind
    if kind == Kind.VOICE:
        save(ctx, {"voice_ref": ctx.inbound.voice_ref})
        ctx.reply(
            t(
                "Voice message attached. Please also type a short description, so we send the right "
                "technician."
            )
        )
        return True
    if kind == Kind.PHOTO:
        if await take_photo(ctx, quiet=True):
            ctx.reply(t("Photo kept. Please also describe the problem in words."))
        return True
    if kind != Kind.TEXT:
        return False
    problem = description_problem(ctx.inbound.text)
    if problem == "empty":
        # Emoji or punctuation alone (🙏🙏, ？？？) tell the technician nothing; say so kindly.
        ctx.reply(
            t(
                "Thank you! Emoji and punctuation alone don't tell the technician what is wrong. "
                "Please describe the problem in a few words, for example “kitchen tap leaking”."
            )
        )
        return True
    if problem == "short":
        ctx.reply(t("Please describe the problem in a few words."))
        return True
    if problem == "long":
        ctx.reply(
            t(
                "That description is {n} characters long; please keep it under {max} characters, "
                "the technician reads it on a phone.",
                n=len(ctx.inbound.text),
                max=MAX_DESCRIPTION,
            )
        )
        return True
    text = clean_text(ctx.inbound.text)
    suggestion = ctx.community.suggest(text)
    save(ctx, {"description": text, "category": suggestion.category, "urgency": suggestion.urgency})
    tip = ctx.community.tip_for(suggestion.category, text) if suggestion.category else None
    # Self-check tips are for residents; staff on a patrol know them.
    if tip is not None and not draft(ctx).get("editing") and not draft(ctx).get("patrol"):
        return Goto("tip")
    else:
        return Goto("classify")


async def prompt_tip(ctx: Context) -> Goto | None:
    """A self-check that often solves the problem without a visit."""
    d = draft(ctx)
    tip = ctx.community.tip_for(d.get("category") or "", d.get("description") or "")
    if tip is None:
        return Goto("classify")
    text = tip.text_en if ctx.t.language == "en" and tip.text_en else tip.text
    ctx.ask(
        ctx.t("Before we send someone, a quick check that often helps:") + "\n\n" + text,
        [("solved", ctx.t("That fixed it")), ("continue", ctx.t("I still need a repair"))],
        columns=1,
    )
    return None


async def handle_tip(ctx: Context, value: str | None) -> Outcome:
    """Solved (nothing filed) or go on."""
    if value == "solved":
        end_dialog(ctx)
        ctx.reply(ctx.t("Glad it's sorted! Nothing was filed. Send 报修 or /repair any time you need us."))
        return True
    if value == "continue":
        return Goto("classify")
    return False


async def prompt_classify(ctx: Context) -> Goto | None:
    """Show the suggested category and urgency with buttons to change them."""
    t, lang, d = ctx.t, ctx.t.language, draft(ctx)
    if not d.get("category"):
        return Goto("category")
    text = t(
        "I have filed this under {category}, urgency {urgency}. Is that right?",
        category=category_name(ctx.community, d["category"], lang),
        urgency=urgency_name(ctx.community, d.get("urgency"), lang),
    )
    if d.get("urgency") == _most_severe(ctx):
        text += "\n" + t("If anyone is in danger, call 110 / 119 / 120 first.")
    ctx.ask(
        text,
        [("ok", t("Yes, that's right")), ("cat", t("Change category")), ("urg", t("Change urgency"))],
        columns=1,
    )
    return None


def _most_severe(ctx: Context) -> str:
    return ctx.community.urgencies[0].code


async def handle_classify(ctx: Context, value: str | None) -> Outcome:
    """Accept or change the suggestion."""
    if value == "ok":
        # Before photos and time: if neighbours already reported this, the resident may join them.
        if draft(ctx).get("editing") or draft(ctx).get("patrol"):
            return next_after(ctx, "classify")
        return Goto("join")
    elif value == "cat":
        return Goto("category")
    elif value == "urg":
        return Goto("urgency")
    else:
        return False
    return True


async def prompt_category(ctx: Context) -> None:
    """Every category of the community."""
    lang = ctx.t.language
    options = [(f"cat:{c.code}", display(c, lang)) for c in ctx.community.categories]
    ctx.ask(ctx.t("Which kind of problem is it?"), options, columns=2)


async def handle_category(ctx: Context, value: str | None) -> Outcome:
    """Take the category, then confirm the pair again."""
    category = ctx.community.category(value[4:]) if value and value.startswith("cat:") else None
    if category is None:
        return False
    save(ctx, {"category": category.code})
    return Goto("classify")


async def prompt_urgency(ctx: Context) -> None:
    """Urgency levels with the promise each carries."""
    lang = ctx.t.language
    options = [(f"urg:{u.code}", display(u, lang)) for u in ctx.community.urgencies]
    ctx.ask(ctx.t("How urgent is it?"), options, columns=3)


async def handle_urgency(ctx: Context, value: str | None) -> Outcome:
    """Take the urgency."""
    urgency = ctx.community.urgency(value[4:]) if value and value.startswith("urg:") else None
    if urgency is None:
        return False
    save(ctx, {"urgency": urgency.code})
    return Goto("classify")
