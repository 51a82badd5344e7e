"""The resident's intake dialog: address, phone, fault, category, photos, time, summary.

```mermaid
stateDiagram-v2
    [*] --> address
    address --> building: another address
    address --> public_place: public area
    address --> phone: saved address / location pin
    building --> unit
    building --> room: a building with one unit
    unit --> room
    unit --> building: back
    room --> unit: back
    room --> building: back (one unit)
    room --> phone
    public_place --> phone
    public_place --> description: a patrol (staff) has no phone step
    phone --> description
    description --> tip: a self-check tip fits
    description --> classify
    tip --> classify: still need a repair
    tip --> [*]: that fixed it
    classify --> category
    classify --> urgency
    classify --> join
    classify --> photos: editing, or a patrol
    join --> photos: nobody reported it, or file my own
    join --> summary: file my own, after the last check
    join --> [*]: joined the report (linked to the incident)
    category --> classify
    urgency --> classify
    photos --> window
    photos --> summary: a patrol has no time to agree
    window --> summary
    summary --> join: a neighbour reported it meanwhile
    summary --> edit
    edit --> public_place: a patrol's place
    edit --> summary: back
    edit --> technician: name a technician
    technician --> summary
    summary --> [*]: confirm (ticket filed) / cancel
```
Every step that is finished while editing returns to the summary (`edit` can enter any step in
`summary.EDITABLE`). A test holds this diagram to `STEPS` and to the steps' own `Goto`s.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.dialog import Step, StepDialog
from handlers.intake import address, contact, fault, join, photos, summary, technician, window
from handlers.intake.draft import NAME
from handlers.messages import Kind

__all__ = ["DIALOG", "NAME", "STEPS", "goto", "handle", "prompt", "start", "start_patrol"]

STEPS: dict[str, Step] = {
    "address": Step(address.prompt_address, address.handle_address),
    "building": Step(address.prompt_building, address.handle_building),
    "unit": Step(address.prompt_unit, address.handle_unit),
    "room": Step(address.prompt_room, address.handle_room),
    "public_place": Step(address.prompt_public_place, address.handle_public_place),
    "phone": Step(contact.prompt_phone, contact.handle_phone),
    "description": Step(fault.prompt_description, fault.handle_description),
    "tip": Step(fault.prompt_tip, fault.handle_tip),
    "classify": Step(fault.prompt_classify, fault.handle_classify),
    "category": Step(fault.prompt_category, fault.handle_category),
    "urgency": Step(fault.prompt_urgency, fault.handle_urgency),
    "join": Step(join.prompt_join, join.handle_join),
    "photos": Step(photos.prompt_photos, photos.handle_photos),
    "window": Step(window.prompt_window, window.handle_window),
    "technician": Step(technician.prompt_technician, technician.handle_technician),
    "summary": Step(summary.prompt_summary, summary.handle_summary),
    "edit": Step(summary.prompt_edit, summary.handle_edit),
}


async def start(ctx: Context) -> None:
    """Begin a new request."""
    ctx.conv.dialog = NAME
    ctx.conv.data = {"draft": {}}
    await DIALOG.goto(ctx, "address")


async def start_patrol(ctx: Context) -> None:
    """Begin a patrol report: staff name the public place; no phone, no room, no time to agree."""
    ctx.conv.dialog = NAME
    ctx.conv.data = {"draft": {"patrol": True, "scope": "public"}}
    await DIALOG.goto(ctx, "public_place")


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
        ctx.reply(t("Please choose one of the options offered."))
    await DIALOG.prompt(ctx)


DIALOG = StepDialog(NAME, STEPS, "address", _not_understood)
goto, prompt, handle = DIALOG.goto, DIALOG.prompt, DIALOG.handle
