"""The resident's matter dialog (报事).

```mermaid
stateDiagram-v2
    [*] --> kind
    kind --> repair: something needs repairing
    kind --> description
    description --> outside: the office does not handle it
    description --> department
    outside --> [*]: nothing filed
    outside --> department: send it anyway
    department --> photos
    photos --> photos: a photo or the place
    photos --> about
    about --> privacy
    privacy --> summary
    summary --> kind: start over
    summary --> [*]: sent (routed to the department) / cancelled
```
`about` is asked for complaints only; `repair` leaves for the repair dialog. A test holds this diagram to
`STEPS` and to the steps' own `Goto`s.
"""

from __future__ import annotations

from dispatch.matters import kinds
from handlers.context import Context
from handlers.dialog import Goto, Outcome, Step, StepDialog
from handlers.flood import CURRENT
from handlers.intake.entry import over_cap, start_intake
from handlers.matters import summary, what, where, who
from handlers.matters.draft import NAME, save
from handlers.messages import Kind

__all__ = ["DIALOG", "NAME", "STEPS", "handle", "start", "start_report"]


async def _to_repair(ctx: Context) -> Goto | None:
    """It is a repair after all: the repair dialog takes over."""
    await start_intake(ctx)
    return None


async def _never(ctx: Context, value: str | None) -> Outcome:
    return False


STEPS: dict[str, Step] = {
    "kind": Step(what.prompt_kind, what.handle_kind),
    "repair": Step(_to_repair, _never),
    "description": Step(what.prompt_description, what.handle_description),
    "outside": Step(what.prompt_outside, what.handle_outside),
    "department": Step(where.prompt_department, where.handle_department),
    "photos": Step(where.prompt_photos, where.handle_photos),
    "about": Step(who.prompt_about, who.handle_about),
    "privacy": Step(who.prompt_privacy, who.handle_privacy),
    "summary": Step(summary.prompt_summary, summary.handle_summary),
}


async def start(ctx: Context, text: str = "") -> None:
    """Begin a matter; words that brought the resident here suggest its kind and may be its description."""
    if not ctx.community.matters.departments:
        ctx.reply(
            ctx.t(
                "The office doesn't take reports in this chat yet. Please call the property office: {phone}.",
                phone=ctx.community.office_phone,
            )
        )
        return
    ctx.conv.dialog = NAME
    ctx.conv.data = {"matter": {}}
    if text:
        save(ctx, {"entry_text": text, "suggested_kind": kinds.suggest(text)})
    await DIALOG.goto(ctx, "kind")


async def start_report(ctx: Context, text: str = "") -> None:
    """A new matter, unless the resident has reached today's cap of open requests."""
    if not await over_cap(ctx, CURRENT.get()):
        await start(ctx, text)


async def _not_understood(ctx: Context, step: str) -> None:
    t = ctx.t
    if ctx.inbound.kind == Kind.PHOTO:
        ctx.reply(t("Thanks for the photo. You can send photos a little later, in the photo step."))
    elif ctx.conv.data.get("choices"):
        ctx.reply(t("Please choose one of the options offered."))
    else:
        ctx.reply(t("Sorry, that doesn't fit here."))
    await DIALOG.prompt(ctx)


DIALOG = StepDialog(NAME, STEPS, "kind", _not_understood)
handle = DIALOG.handle
