"""Group chats: binding the technicians' and supervisors' groups, and the staff commands that work there."""

from __future__ import annotations

from dispatch import staff
from dispatch.matters.routing import group_purpose
from handlers.buttons import ChoiceTap, decode
from handlers.context import Context, resolve_choice
from handlers.labels import display
from handlers.office.access import overseer
from handlers.office.assign import CONFIRM, assign_command, confirm_step, reassign_command
from handlers.office.lists import queue_command


async def bind_group_command(ctx: Context) -> None:
    """/bindgroup technicians|supervisors|department CODE, sent in the group by a supervisor."""
    if ctx.inbound.is_private:
        ctx.reply(ctx.t("Send this command in the group you want to bind."))
        return
    if not overseer(ctx):
        return
    community = ctx.services.site.community(ctx.person.community or "") or ctx.community
    words = ctx.inbound.args.strip().lower().split()
    department = (
        community.matters.department(words[1]) if len(words) == 2 and words[0] == "department" else None
    )
    if department is not None:
        purpose = group_purpose(department.code)
    elif words in (["technicians"], ["supervisors"], ["residents"]):
        purpose = words[0]
    else:
        codes = ", ".join(d.code for d in community.matters.departments) or "—"
        ctx.reply(
            ctx.t(
                "Please write /bindgroup technicians, /bindgroup supervisors, /bindgroup residents or "
                "/bindgroup department CODE (departments: {codes}).",
                codes=codes,
            )
        )
        return
    await staff.bind_group(
        ctx.session,
        community.code,
        ctx.inbound.identity.channel,
        purpose,
        ctx.inbound.chat_id,
        by=ctx.person.id,
        now=ctx.now,
    )
    if department is not None:
        text = ctx.t(
            "This group now receives {department}'s matters.", department=display(department, ctx.t.language)
        )
    elif purpose == "technicians":
        text = ctx.t("This group now receives job offers.")
    elif purpose == "residents":
        text = ctx.t("This residents' group now receives updates on incidents (outages many report).")
    else:
        text = ctx.t("This group now receives escalations.")
    ctx.reply(text)


async def group_commands(ctx: Context) -> bool:
    """Staff commands that make sense inside a group chat (True when one of them took the event)."""
    if ctx.inbound.command == "bindgroup":
        await bind_group_command(ctx)
        return True
    command = GROUP_COMMANDS.get(ctx.inbound.command)
    if command is not None and ctx.person.role in (staff.Role.SUPERVISOR, staff.Role.MANAGER):
        await command(ctx)
        return True
    if (
        ctx.inbound.kind == "button"
        and ctx.conv.dialog == CONFIRM
        and isinstance(decode(ctx.inbound.button), ChoiceTap)
    ):
        value, problem = resolve_choice(ctx.conv, ctx.inbound)
        if not problem:
            await confirm_step(ctx, value)
            return True
    return False


GROUP_COMMANDS = {"assign": assign_command, "reassign": reassign_command, "queue": queue_command}
