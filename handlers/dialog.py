"""A dialog made of steps, each a question (prompt) and what takes an answer to it (handle).

A step's handler answers with an `Outcome`: False when the event did not fit the step (the dialog explains
and asks again), True when it was taken and the step goes on, or a `Goto` naming the step to enter. A prompt
asks its question, or answers with a `Goto` when its step does not apply. Steps never call each other's
modules: only the dialog's table knows them all. Intake (报修) and matters (报事) are such dialogs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from handlers.context import Context


@dataclass(frozen=True)
class Goto:
    """Enter this step next and ask its question."""

    step: str


Outcome = bool | Goto


@dataclass(frozen=True)
class Step:
    """One step of a dialog: its question, and what takes an answer to it."""

    prompt: Callable[[Context], Awaitable[Goto | None]]
    handle: Callable[[Context, str | None], Awaitable[Outcome]]


@dataclass(frozen=True)
class StepDialog:
    """A named dialog over a table of steps; `not_understood` explains an event that fit no step."""

    name: str
    steps: Mapping[str, Step]
    first: str
    not_understood: Callable[[Context, str], Awaitable[None]]

    async def goto(self, ctx: Context, step: str) -> None:
        """Enter a step and ask its question (or the question of the step it sends us on to)."""
        while True:
            ctx.conv.step = step
            ctx.conv.updated_at = ctx.now
            moved = await self.steps[step].prompt(ctx)
            if moved is None:
                return
            step = moved.step

    async def prompt(self, ctx: Context) -> None:
        """Ask the current step's question again."""
        moved = await self.steps[ctx.conv.step or self.first].prompt(ctx)
        if moved is not None:
            await self.goto(ctx, moved.step)

    async def handle(self, ctx: Context, value: str | None) -> None:
        """Take one event in the current step."""
        step = ctx.conv.step or self.first
        ctx.conv.updated_at = ctx.now
        outcome = await self.steps[step].handle(ctx, value)
        if isinstance(outcome, Goto):
            await self.goto(ctx, outcome.step)
        elif not outcome:
            await self.not_understood(ctx, step)
