"""The resident's intake dialog: address, phone, fault, category, photos, time, summary.

```mermaid
stateDiagram-v2
    [*] --> address
    address --> building: another address
    address --> public_place: public area
    address --> phone: saved address / location pin
    building --> unit --> room --> phone
    public_place --> phone
    phone --> description
    description --> tip: a self-check tip fits
    description --> classify
    tip --> classify: still need a repair
    tip --> [*]: that fixed it
    classify --> category
    classify --> urgency
    category --> classify
    urgency --> classify
    classify --> photos --> window --> summary
    summary --> edit --> summary
    summary --> [*]: confirm (ticket filed) / cancel
```
Every step that is finished while editing returns to the summary.
"""

from __future__ import annotations

from typing import Any

from dispatch.site import Unit, normalize_room
from handlers import intake_steps as steps
from handlers.context import Context
from handlers.messages import Kind

NAME = "intake"
MAIN_STEPS = ("address", "phone", "description", "classify", "photos", "window", "summary")


def draft(ctx: Context) -> dict[str, Any]:
    """The draft being collected, stored in the conversation row."""
    value: dict[str, Any] = ctx.conv.data.setdefault("draft", {})
    return value


def save(ctx: Context, values: dict[str, Any]) -> None:
    """Merge values into the draft (reassigning so the JSON column sees the change)."""
    ctx.conv.data = {**ctx.conv.data, "draft": {**draft(ctx), **values}}


async def start(ctx: Context) -> None:
    """Begin a new request."""
    ctx.conv.dialog = NAME
    ctx.conv.data = {"draft": {}}
    await goto(ctx, "address")


async def goto(ctx: Context, step: str) -> None:
    """Enter a step and ask its question."""
    ctx.conv.step = step
    ctx.conv.updated_at = ctx.now
    await steps.PROMPTS[step](ctx)


async def advance(ctx: Context, finished: str) -> None:
    """After a main step: back to the summary when editing, else the next main step."""
    if draft(ctx).get("editing") and finished != "summary":
        await goto(ctx, "summary")
        return
    index = MAIN_STEPS.index(finished)
    await goto(ctx, MAIN_STEPS[index + 1])


async def prompt(ctx: Context) -> None:
    """Ask the current step's question again."""
    await steps.PROMPTS[ctx.conv.step or "address"](ctx)


async def handle(ctx: Context, value: str | None) -> None:
    """Take one event in the current step."""
    step = ctx.conv.step or "address"
    ctx.conv.updated_at = ctx.now
    handler = steps.HANDLERS[step]
    if not await handler(ctx, value):
        await _not_understood(ctx, step)


async def _not_understood(ctx: Context, step: str) -> None:
    t = ctx.t
    kind = ctx.inbound.kind
    if kind == Kind.STICKER:
        ctx.reply(t("Stickers can't be used here."))
    elif kind == Kind.DOCUMENT:
        ctx.reply(t("Please send pictures as a photo, not as a file."))
    elif kind == Kind.PHOTO and step != "photos":
        ctx.reply(t("Thanks for the photo. You can send photos a little later, in the photo step."))
    elif kind == Kind.VOICE:
        ctx.reply(t("I can't take a voice message at this step."))
    elif kind == Kind.LOCATION:
        ctx.reply(t("A location pin doesn't fit this step."))
    elif ctx.conv.data.get("choices"):
        ctx.reply(t("Please choose one of the buttons below."))
    await prompt(ctx)


def room_in_unit(unit: Unit, typed: str) -> str | None:
    """The site file's spelling of a typed room number, or None when the unit has no such room."""
    wanted = normalize_room(typed)
    if not wanted:
        return None
    return next((room for room in unit.rooms if normalize_room(room) == wanted), None)
