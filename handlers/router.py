"""One inbound event, one transaction: dedupe, who, which dialog, replies into the outbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import intake, resident
from handlers import limits as inbound_limits
from handlers.common import end_dialog
from handlers.context import CHOICE_PREFIX, Context, Services, resolve_choice
from handlers.i18n import Translator, normalize_language
from handlers.messages import Inbound, Kind, Outbound
from storage.db import Database, is_transient
from storage.models import OutboxMessage
from storage.repositories import Conversations, InboundLog, People

log = logging.getLogger(__name__)

Command = Callable[[Context], Awaitable[None]]
Button = Callable[[Context, str], Awaitable[None]]
GroupHandler = Callable[[Context], Awaitable[bool]]
# A tap answered from one read, before the event's person and conversation rows; None takes the whole path.
QuickButton = Callable[[AsyncSession, Inbound, Services], Awaitable[list[Outbound] | None]]

# Filled by the dialog modules (resident here, staff ones register themselves on import).
COMMANDS: dict[str, Command] = {}
BUTTONS: dict[str, Button] = {}
QUICK_BUTTONS: dict[str, QuickButton] = {}
GROUP_HANDLERS: list[GroupHandler] = []
INTAKE_WORDS = ("报修", "repair", "维修")


@dataclass
class Result:
    """What handling one event did."""

    duplicate: bool = False
    outbound: list[Outbound] = field(default_factory=list)
    # Not even the apology could be recorded (database down): the channel should deliver the event again.
    failed: bool = False
    throttled: bool = False


class Router:
    """Entry point for every inbound event from every channel."""

    def __init__(
        self,
        db: Database,
        services: Services,
        wake: Callable[[], None] | None = None,
        limits: inbound_limits.InboundLimits | None = None,
    ) -> None:
        self.db = db
        self.services = services
        self.wake = wake or (lambda: None)
        self.limits = limits or inbound_limits.InboundLimits()

    async def handle(self, inbound: Inbound) -> Result:
        """Handle one event in one transaction; a repeated event id has no effect."""
        try:
            result = await self._handle_retrying(inbound)
        except Exception:
            log.exception("failed to handle %s event %s", inbound.identity.channel, inbound.event_id)
            result = await self._apologise(inbound)
        if result.outbound:
            self.wake()
        return result

    async def _handle_retrying(self, inbound: Inbound, attempts: int = 4) -> Result:
        """A deadlock or lock timeout between workers is retried, not apologised for."""
        for attempt in range(attempts):
            try:
                return await self._handle(inbound)
            except Exception as exc:
                if attempt + 1 == attempts or not is_transient(exc):
                    raise
                log.warning("event %s met a transient database error, retrying: %s", inbound.event_id, exc)
        raise AssertionError("unreachable")

    async def _handle(self, inbound: Inbound) -> Result:
        now = self.services.clock.now()
        token = inbound_limits.CURRENT.set(self.limits)
        try:
            async with self.db.transaction() as session:
                return await self._in_transaction(session, inbound, now)
        finally:
            inbound_limits.CURRENT.reset(token)

    async def _in_transaction(self, session: AsyncSession, event: Inbound, now: datetime) -> Result:
        if not await InboundLog(session).first_time(event.identity.channel, event.event_id, now):
            return Result(duplicate=True)
        if verdict := await inbound_limits.throttle(session, event, now, self.limits):
            t = Translator(normalize_language(event.language_code, self.services.default_language))
            out = inbound_limits.slow_down(event, t, verdict == "warn")
            await write_outbox(session, out, now)
            return Result(outbound=out, throttled=True)
        if event.kind == Kind.BUTTON and event.callback_id:
            quick = QUICK_BUTTONS.get(event.button.partition(":")[0])
            if quick is not None and (answered := await quick(session, event, self.services)) is not None:
                await write_outbox(session, answered, now)
                return Result(outbound=answered)
        ctx = await self._context(session, event)
        await route(ctx)
        if ctx.inbound.callback_id:
            ctx.answer_tap()
        await write_outbox(session, ctx.out, now)
        return Result(outbound=ctx.out)

    async def _context(self, session: AsyncSession, inbound: Inbound) -> Context:
        now = self.services.clock.now()
        default = normalize_language(inbound.language_code, self.services.default_language)
        person, identity = await People(session).ensure(
            inbound.identity.channel,
            inbound.identity.external_id,
            inbound.chat_id if inbound.is_private else identity_chat(inbound),
            now=now,
            display_name=inbound.display_name,
            language=default,
            language_code=inbound.language_code,
        )
        conv = await Conversations(session).lock(inbound.identity.channel, inbound.chat_id, now)
        t = Translator(person.language or default)
        return Context(self.services, session, inbound, person, identity, conv, t)

    async def _apologise(self, inbound: Inbound) -> Result:
        """After a failure: remember the event and say sorry, so a redelivery doesn't fail again."""
        now = self.services.clock.now()
        try:
            async with self.db.transaction() as session:
                if not await InboundLog(session).first_time(inbound.identity.channel, inbound.event_id, now):
                    return Result(duplicate=True)
                t = Translator(normalize_language(inbound.language_code, self.services.default_language))
                out = [
                    Outbound(
                        inbound.identity.channel,
                        inbound.chat_id,
                        t("Sorry, something went wrong on our side. Please try again in a moment."),
                        callback_id="",
                    )
                ]
                if inbound.callback_id:
                    out.append(
                        Outbound(inbound.identity.channel, inbound.chat_id, callback_id=inbound.callback_id)
                    )
                await write_outbox(session, out, now)
                return Result(outbound=out)
        except Exception:
            log.exception("could not record the failure of event %s", inbound.event_id)
            return Result(failed=True)


def identity_chat(inbound: Inbound) -> str:
    """A person's private chat id on channels where it equals their user id (Telegram, console)."""
    return inbound.identity.external_id


async def write_outbox(session: AsyncSession, messages: list[Outbound], now: datetime) -> None:
    """Add outbound messages to the outbox in the current transaction (one INSERT)."""
    if not messages:
        return
    rows = [
        {
            "channel": message.channel,
            "chat_id": message.chat_id,
            "kind": message.kind,
            "payload": message.to_payload(),
            "ref": message.ref,
            "edit_ref": message.edit_ref,
            "important": message.important,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for message in messages
    ]
    # The table, not the mapped class: nothing reads these rows back in this transaction, and the ORM's unit
    # of work (identity map, RETURNING the ids) cost more than the INSERT itself on every event.
    await session.execute(_OUTBOX_INSERT, rows)


_OUTBOX_INSERT = insert(cast(Table, OutboxMessage.__table__))


async def route(ctx: Context) -> None:
    """Decide which dialog or command owns the event."""
    inbound = ctx.inbound
    if inbound.kind == Kind.EDITED:
        ctx.reply(ctx.t("I only read new messages, not edits. Please send it again as a new message."))
        return
    if not inbound.is_private:
        await _group(ctx)
        return
    if inbound.kind == Kind.COMMAND:
        await _command(ctx)
        return
    if inbound.kind == Kind.BUTTON and not inbound.button.startswith(CHOICE_PREFIX + ":"):
        await _foreign_button(ctx)
        return
    value, problem = resolve_choice(ctx.conv, inbound)
    if problem:
        await _bad_button(ctx, problem)
        return
    if inbound.kind == Kind.BUTTON:
        ctx.answer_tap()
    if ctx.conv.dialog == intake.NAME:
        await intake.handle(ctx, value)
    elif ctx.conv.dialog in DIALOGS:
        await DIALOGS[ctx.conv.dialog](ctx, value)
    elif inbound.kind == Kind.TEXT and any(w in inbound.text.casefold() for w in INTAKE_WORDS):
        await start_intake(ctx)
    else:
        await _menu(ctx, value)


async def start_intake(ctx: Context) -> None:
    """A new repair request, unless the resident has reached today's cap of open tickets."""
    if not await inbound_limits.over_cap(ctx, inbound_limits.CURRENT.get()):
        await intake.start(ctx)


async def _menu(ctx: Context, value: str | None) -> None:
    if value == "repair" and await inbound_limits.over_cap(ctx, inbound_limits.CURRENT.get()):
        return
    await resident.handle_menu(ctx, value)


# Other dialogs (staff) register a step handler here by name.
DIALOGS: dict[str, Callable[[Context, str | None], Awaitable[None]]] = {}


async def _command(ctx: Context) -> None:
    name, args = ctx.inbound.command, ctx.inbound.args.strip()
    if name in ("start", "repair"):
        if name == "start" and args and args != "repair" and "start:" + args.split("_")[0] in COMMANDS:
            await COMMANDS["start:" + args.split("_")[0]](ctx)
            return
        if ctx.conv.dialog == intake.NAME and ctx.conv.step:
            ctx.ask(
                ctx.t("You have a repair request in progress. Continue where you left off, or start over?"),
                [("resume", ctx.t("Continue")), ("restart", ctx.t("Start over"))],
            )
            ctx.conv.step = "resume:" + ctx.conv.step
            ctx.conv.dialog = "resume"
            return
        if name == "repair" or args == "repair":
            await start_intake(ctx)
        else:
            await resident.show_menu(ctx)
    elif name == "cancel":
        had = bool(ctx.conv.dialog and ctx.conv.dialog != resident.MENU)
        end_dialog(ctx)
        ctx.reply(ctx.t("Cancelled. Nothing was filed.") if had else ctx.t("There was nothing to cancel."))
    elif name == "help":
        resident.show_help(ctx)
    elif name == "mytickets":
        await resident.my_tickets(ctx)
    elif name == "language":
        ctx.person.language = "en" if ctx.t.language == "zh_CN" else "zh_CN"
        ctx.t = Translator(ctx.person.language)
        ctx.reply(ctx.t("Language set to English.") if ctx.t.language == "en" else ctx.t("已切换为中文。"))
    elif name in COMMANDS:
        await COMMANDS[name](ctx)
    else:
        ctx.reply(ctx.t("I don't know that command. Send /help to see what I can do."))


async def _resume(ctx: Context, value: str | None) -> None:
    step = ctx.conv.step.removeprefix("resume:")
    if value == "resume":
        ctx.conv.dialog, ctx.conv.step = intake.NAME, step
        ctx.reply(ctx.t("Let's continue where you left off."))
        await intake.prompt(ctx)
    elif value == "restart":
        await intake.start(ctx)
    else:
        ctx.conv.dialog, ctx.conv.step = intake.NAME, step
        await intake.handle(ctx, value)


DIALOGS["resume"] = _resume
DIALOGS[resident.MENU] = _menu
DIALOGS[resident.ATTACH] = resident.attach_step


async def _bad_button(ctx: Context, problem: str) -> None:
    t = ctx.t
    if problem == "stale":
        ctx.answer_tap(t("That button is from an earlier step."))
    else:
        ctx.answer_tap(t("Sorry, I couldn't read that button."))
    if ctx.conv.dialog == intake.NAME:
        ctx.reply(t("That button belongs to an earlier step. Here is where we are now:"))
        await intake.prompt(ctx)
    elif ctx.conv.dialog in DIALOGS and ctx.conv.data.get("choices"):
        ctx.reply(t("That button is no longer valid. Please use the latest message."))
    else:
        ctx.reply(
            t(
                "That request is already finished. Send /repair to report a new one, or /mytickets to see "
                "your requests."
            )
        )


async def _foreign_button(ctx: Context) -> None:
    prefix, _, rest = ctx.inbound.button.partition(":")
    handler = BUTTONS.get(prefix)
    if handler is None:
        await _bad_button(ctx, "forged")
        return
    await handler(ctx, rest)


async def _group(ctx: Context) -> None:
    """In groups the bot never runs intake: it points to a private chat instead."""
    for handler in GROUP_HANDLERS:
        if await handler(ctx):
            return
    inbound = ctx.inbound
    if inbound.kind == Kind.BUTTON:
        prefix = inbound.button.partition(":")[0]
        if prefix in BUTTONS and prefix != CHOICE_PREFIX:
            await _foreign_button(ctx)
        else:
            ctx.answer_tap(ctx.t("Please talk to me in a private chat for that."))
        return
    wants_intake = (
        inbound.kind == Kind.COMMAND and inbound.command in ("start", "repair", "mytickets", "help")
    ) or (inbound.kind == Kind.TEXT and any(w in inbound.text.casefold() for w in INTAKE_WORDS))
    if not wants_intake:
        return
    link_for = ctx.services.deep_links.get(inbound.identity.channel)
    link = link_for("repair") if link_for else None
    text = ctx.t(
        "To report a repair, please message me privately; your address and phone number stay private."
    )
    ctx.reply(text + ("\n" + link if link else ""))


# Staff dialogs register their commands, buttons and group handlers on import.
from handlers import job_steps, resident_ticket, staff_views, supervisor, technician  # noqa: E402, F401
