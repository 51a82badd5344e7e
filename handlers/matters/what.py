"""The matter's kind and the resident's words; what the office does not handle is explained, not filed."""

from __future__ import annotations

from dispatch.matters import kinds
from dispatch.site.model import MATTER_KINDS
from handlers import consent as consent_notice
from handlers.context import Context, end_dialog
from handlers.dialog import Goto, Outcome
from handlers.labels import MATTER_KIND_NAMES
from handlers.matters.draft import draft, save
from handlers.messages import Kind, ReplyKeyboard
from handlers.validate import MAX_DESCRIPTION, clean_text, description_problem

REPAIR = "repair"
ICONS = {"complaint": "😠", "suggestion": "💡", "inquiry": "❓", "praise": "👍"}


async def prompt_kind(ctx: Context) -> Goto | None:
    """Complaint, suggestion, inquiry or praise (or it is a repair after all)."""
    t = ctx.t
    suggested = draft(ctx).get("suggested_kind")
    order = sorted(MATTER_KINDS, key=lambda k: k != suggested)
    options = [(k, f"{ICONS[k]} {t(MATTER_KIND_NAMES[k])}") for k in order]
    options.append((REPAIR, t("🔧 Something needs repairing")))
    question = t("What would you like to tell the property office?")
    ctx.ask(consent_notice.with_notice(ctx, question, options), options, columns=2)
    return None


async def handle_kind(ctx: Context, value: str | None) -> Outcome:
    """Take the kind; a repair goes to the repair dialog (the repair dialog asks for the agreement)."""
    if value == consent_notice.DISAGREE:
        await consent_notice.refused(ctx)
        return True
    if value == REPAIR:
        return Goto(REPAIR)
    if value not in MATTER_KINDS:
        return False
    consent_notice.agreed(ctx)
    save(ctx, {"kind": value})
    return Goto("description")


async def prompt_description(ctx: Context) -> Goto | None:
    """The matter in the resident's words (what they already wrote can be used)."""
    t = ctx.t
    text = t("Please describe it in a few sentences: what happened, where and when.")
    earlier = draft(ctx).get("entry_text") or ""
    if earlier and not description_problem(earlier):
        ctx.ask(
            text,
            [("earlier", t("Use what I wrote: {text}", text=earlier[:40]))],
            keyboard=ReplyKeyboard.REMOVE,
        )
    else:
        ctx.clear_choices()
        ctx.reply(text, keyboard=ReplyKeyboard.REMOVE)
    return None


async def handle_description(ctx: Context, value: str | None) -> Outcome:
    """Take the words; refuse empty, emoji-only or huge texts politely; explain what is out of scope."""
    t = ctx.t
    if value == "earlier":
        words = str(draft(ctx).get("entry_text") or "")
    elif ctx.inbound.kind == Kind.TEXT:
        words = ctx.inbound.text
    else:
        return False
    problem = description_problem(words)
    if problem in ("empty", "short"):
        ctx.reply(t("Please describe it in words, in a sentence or two."))
        return True
    if problem == "long":
        ctx.reply(
            t(
                "That is {n} characters long; please keep it under {max} characters.",
                n=len(words),
                max=MAX_DESCRIPTION,
            )
        )
        return True
    text = clean_text(words)
    community = ctx.community
    save(ctx, {"description": text, "department": community.matters.suggest(text)})
    if community.matters.outside(text) is not None:
        return Goto("outside")
    return Goto("department")


async def prompt_outside(ctx: Context) -> Goto | None:
    """Something the office does not handle: where to go instead, and the choice to file it anyway."""
    outside = ctx.community.matters.outside(str(draft(ctx).get("description") or ""))
    if outside is None:
        return Goto("department")
    t = ctx.t
    ctx.ask(
        outside.display(t.language),
        [("thanks", t("OK, thank you")), ("anyway", t("Send it to the office anyway"))],
        columns=1,
    )
    return None


async def handle_outside(ctx: Context, value: str | None) -> Outcome:
    """Nothing filed, or on to the department."""
    if value == "thanks":
        end_dialog(ctx)
        ctx.reply(ctx.t("All right; nothing was filed. Send /report whenever you need the office."))
        return True
    if value == "anyway":
        return Goto("department")
    return False


def suggested_kind(text: str) -> str | None:
    """The kind the resident's first words point to, if any."""
    return kinds.suggest(text)
