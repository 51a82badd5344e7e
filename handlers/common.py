"""Small pieces every dialog shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.context import Context
from storage.models import Ticket

# Called after a ticket is filed, in the same transaction; dispatch registers itself here so intake
# does not depend on how offers are made.
SubmitHook = Callable[[Context, Ticket], Awaitable[None]]
_submit_hooks: list[SubmitHook] = []


def on_submitted(hook: SubmitHook) -> SubmitHook:
    """Register a coroutine run right after a ticket is filed."""
    if hook not in _submit_hooks:
        _submit_hooks.append(hook)
    return hook


async def after_submit(ctx: Context, ticket: Ticket) -> None:
    """Run the registered hooks for a newly filed ticket."""
    for hook in _submit_hooks:
        await hook(ctx, ticket)


def end_dialog(ctx: Context) -> None:
    """Leave whatever dialog the chat was in; its buttons go stale."""
    ctx.conv.dialog = ""
    ctx.conv.step = ""
    ctx.conv.nonce = ""
    ctx.conv.data = {}
    ctx.conv.updated_at = ctx.now
