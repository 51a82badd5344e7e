"""A resident's data rights in chat: /mydata (everything held, as one file) and /forgetme (erasure)."""

from __future__ import annotations

import asyncio

from dispatch.privacy import downloads, erasure
from dispatch.privacy.downloads import Download
from dispatch.privacy.holdings import archive, holdings
from handlers.context import Context, end_dialog
from handlers.messages import Document

FORGET = "forgetme"
ERASE, KEEP = "erase", "keep"


def _refuse_staff(ctx: Context) -> bool:
    """Staff records are the office's, not erased or exported from chat (True: refused)."""
    if ctx.person.role == "resident":
        return False
    ctx.reply(ctx.t("That command is for residents. Staff records are kept by the office; ask your manager."))
    return True


async def mydata_command(ctx: Context) -> None:
    """/mydata: the resident's profile, addresses, tickets with timelines, ratings and photos, as a ZIP."""
    if _refuse_staff(ctx):
        return
    t = ctx.t
    data = await holdings(ctx.session, ctx.person, ctx.now, staff_notes=ctx.services.mydata_staff_notes)
    content = await asyncio.to_thread(archive, data, ctx.services.media)
    stored = await asyncio.to_thread(ctx.services.media.put_file, content, "zip")
    name = f"baoxiu-mydata-{ctx.now.strftime('%Y%m%d')}.zip"
    if ctx.inbound.identity.channel in ctx.services.link_channels:
        await _send_link(ctx, Download(stored.sha256, name), len(data["tickets"]))
        return
    await downloads.remember(ctx.session, ctx.person.id, Download(stored.sha256, name), ctx.now)
    ctx.send(
        ctx.inbound.chat_id,
        t(
            "Everything we hold about you: your profile, saved addresses, {n} requests with their "
            "timelines, ratings and photos (data.json and the photos). Send /forgetme to have it erased.",
            n=len(data["tickets"]),
        ),
        documents=[Document(stored.sha256, name)],
    )


async def _send_link(ctx: Context, download: Download, requests: int) -> None:
    """A one-time link to the archive on the bot's web server, for apps that can't receive a file."""
    t, base = ctx.t, ctx.services.web_url
    if not base:
        ctx.reply(t("Your data can't be sent as a file in this app. Please ask the property office for it."))
        return
    token = await downloads.issue(ctx.session, ctx.person.id, download, ctx.now)
    ctx.reply(
        t(
            "Everything we hold about you ({n} requests, with photos) is ready as a ZIP file. The link works "
            "once, for {minutes} minutes; don't forward it:\n{link}",
            n=requests,
            minutes=int(ctx.services.mydata_link.total_seconds() // 60),
            link=f"{base.rstrip('/')}/mydata/{token}",
        )
    )


async def forgetme_command(ctx: Context) -> None:
    """/forgetme: explain what erasure does and ask to confirm (or say why it can't be done now)."""
    if _refuse_staff(ctx):
        return
    t = ctx.t
    if not await erasure.holds_anything(ctx.session, ctx.person):
        end_dialog(ctx)
        ctx.reply(t("We hold nothing about you beyond this chat: there is nothing to erase."))
        return
    if still_open := await erasure.open_tickets(ctx.session, ctx.person.id):
        ctx.reply(_wait_for(ctx, still_open))
        return
    end_dialog(ctx)
    ctx.conv.dialog, ctx.conv.step = FORGET, "confirm"
    ctx.ask(
        t(
            "Erase your data? Your name, phone, rooms, saved addresses, photos and this chat's link to you "
            "will be deleted. Your past requests stay in the office's statistics without anything that "
            "names you, and you will no longer see them. This cannot be undone."
        ),
        [(ERASE, t("Erase my data")), (KEEP, t("Keep it"))],
    )


def _wait_for(ctx: Context, numbers: list[str]) -> str:
    return ctx.t(
        "You still have open requests: {numbers}. We erase your data once they are closed, so that the "
        "technician can still reach you. Wait for them to finish, or cancel them in /mytickets, then send "
        "/forgetme again.",
        numbers=", ".join(numbers),
    )


async def forget_dialog(ctx: Context, value: str | None) -> None:
    """The answer to the erasure question; anything but the button keeps everything."""
    t = ctx.t
    if value != ERASE:
        end_dialog(ctx)
        ctx.reply(t("Nothing was erased."))
        return
    # Checked again: a request may have been filed from another app since the question.
    if ctx.person.role != "resident":
        end_dialog(ctx)
        _refuse_staff(ctx)
        return
    if still_open := await erasure.open_tickets(ctx.session, ctx.person.id):
        end_dialog(ctx)
        ctx.reply(_wait_for(ctx, still_open))
        return
    end_dialog(ctx)
    await erasure.erase(ctx.session, ctx.services.media, ctx.person, ctx.now, actor_id=ctx.person.id)
    ctx.reply(
        t(
            "Done: your data is erased. If you write to us again you start as a new resident. "
            "Thank you for using the repair service."
        )
    )
