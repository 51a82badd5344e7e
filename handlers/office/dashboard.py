"""/dashboard: a one-time link to the office's web page of figures (supervisors and managers)."""

from __future__ import annotations

from dispatch import logins
from handlers.context import Context
from handlers.office.stats import refuse


async def dashboard_command(ctx: Context) -> None:
    """Send a login link that works once, for a few minutes; residents and technicians are refused."""
    if refuse(ctx):
        return
    t = ctx.t
    base = ctx.services.dashboard_url
    if not base:
        ctx.reply(t("The dashboard is switched off here. Send /stats for the figures in this chat."))
        return
    token = await logins.issue(ctx.session, ctx.person, ctx.now)
    minutes = int(ctx.services.dashboard_link.total_seconds() // 60)
    ctx.reply(
        t(
            "Your dashboard link, valid once for {minutes} minutes (don't forward it):\n{link}",
            minutes=minutes,
            link=f"{base.rstrip('/')}/dashboard/login?t={token}",
        )
    )
