"""The privacy notice on a resident's first request: shown with the first question, agreed by answering it,
or refused with its own button (then nothing new is kept)."""

from __future__ import annotations

from dispatch.privacy import consent
from handlers.context import Context, end_dialog

DISAGREE = "noconsent"


def pending(ctx: Context) -> bool:
    """True when this resident has not agreed to the community's current notice yet."""
    return consent.needed(ctx.person, ctx.community)


def with_notice(ctx: Context, question: str, options: list[tuple[str, str]]) -> str:
    """The first question, preceded by the notice and given a "don't agree" choice, when one is due."""
    if not pending(ctx):
        return question
    t, privacy = ctx.t, ctx.community.privacy
    own = privacy.text_en if t.language == "en" and privacy.text_en else privacy.text
    lines = [
        t(
            "Before we start: to handle your request the property office keeps your phone number, address, "
            "what you tell us and your photos, and shows them only to the staff who handle it. You can see "
            "everything with /mydata and have it erased with /forgetme. Answering the question below means "
            "you agree."
        )
    ]
    if own:
        lines.append(own)
    if privacy.url:
        lines.append(t("The office's privacy policy: {url}", url=privacy.url))
    options.append((DISAGREE, t("🚫 I don't agree")))
    return "\n".join(lines) + "\n\n" + question


def agreed(ctx: Context) -> None:
    """The first question answered: the agreement is recorded with its time and the notice's version."""
    if pending(ctx):
        consent.record(ctx.person, ctx.community, ctx.now)


async def refused(ctx: Context) -> None:
    """Nothing is filed; a resident with no requests yet is erased altogether."""
    end_dialog(ctx)
    erased = await consent.refuse(ctx.session, ctx.services.media, ctx.person, ctx.now)
    t = ctx.t
    if erased:
        text = t(
            "Understood. Without your agreement we can't take requests in this chat, and nothing about you "
            "was kept. You can call the property office: {phone}.",
            phone=ctx.community.office_phone,
        )
    else:
        text = t(
            "Understood: nothing new was taken. Your earlier requests keep what they hold (/forgetme erases "
            "it). You can call the property office: {phone}.",
            phone=ctx.community.office_phone,
        )
    ctx.reply(text)
