"""The request being collected, kept in the conversation row, and where a finished main step leads.

Steps answer with `Goto` / `Outcome` (handlers/dialog.py); `Goto` and `Outcome` are named here too so the
steps import what they use from one place.
"""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from handlers.dialog import Goto, Outcome

__all__ = ["MAIN_STEPS", "NAME", "PATROL_STEPS", "Goto", "Outcome", "draft", "next_after", "save"]

NAME = "intake"
MAIN_STEPS = ("address", "phone", "description", "classify", "photos", "window", "summary")
# Staff reporting what they found on their rounds (/patrol): no phone of their own to give, no time to agree.
PATROL_STEPS = ("address", "description", "classify", "photos", "summary")


def draft(ctx: Context) -> dict[str, Any]:
    """The draft being collected, stored in the conversation row."""
    value: dict[str, Any] = ctx.conv.data.setdefault("draft", {})
    return value


def save(ctx: Context, values: dict[str, Any]) -> None:
    """Merge values into the draft (reassigning so the JSON column sees the change)."""
    ctx.conv.data = {**ctx.conv.data, "draft": {**draft(ctx), **values}}


def next_after(ctx: Context, finished: str) -> Goto:
    """After a main step: back to the summary when editing, else the next main step."""
    d = draft(ctx)
    if d.get("editing") and finished != "summary":
        return Goto("summary")
    steps = PATROL_STEPS if d.get("patrol") else MAIN_STEPS
    return Goto(steps[steps.index(finished) + 1])
