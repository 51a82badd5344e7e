"""The matter being collected, kept in the conversation row."""

from __future__ import annotations

from typing import Any

from handlers.context import Context

NAME = "report"


def draft(ctx: Context) -> dict[str, Any]:
    """The matter being collected."""
    value: dict[str, Any] = ctx.conv.data.setdefault("matter", {})
    return value


def save(ctx: Context, values: dict[str, Any]) -> None:
    """Merge values into the draft (reassigning so the JSON column sees the change)."""
    ctx.conv.data = {**ctx.conv.data, "matter": {**draft(ctx), **values}}
