"""The request being collected, kept in the conversation row, and how a step says where to go next.

A step's handler takes one event and answers with an `Outcome`: False when the event did not fit the step
(the flow explains and asks again), True when it was taken and the step goes on, or a `Goto` naming the step
to enter. A prompt asks its question, or answers with a `Goto` when its step does not apply (no unit to
choose, no tip that fits). Steps never call each other's modules: only `flow` knows them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.context import Context

NAME = "intake"
MAIN_STEPS = ("address", "phone", "description", "classify", "photos", "window", "summary")


@dataclass(frozen=True)
class Goto:
    """Enter this step next and ask its question."""

    step: str


Outcome = bool | Goto


def draft(ctx: Context) -> dict[str, Any]:
    """The draft being collected, stored in the conversation row."""
    value: dict[str, Any] = ctx.conv.data.setdefault("draft", {})
    return value


def save(ctx: Context, values: dict[str, Any]) -> None:
    """Merge values into the draft (reassigning so the JSON column sees the change)."""
    ctx.conv.data = {**ctx.conv.data, "draft": {**draft(ctx), **values}}


def next_after(ctx: Context, finished: str) -> Goto:
    """After a main step: back to the summary when editing, else the next main step."""
    if draft(ctx).get("editing") and finished != "summary":
        return Goto("summary")
    return Goto(MAIN_STEPS[MAIN_STEPS.index(finished) + 1])
