"""One inbound event, one transaction: dedupe, who, which dialog, replies into the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.matters import kinds
from handlers import flood
from handlers.buttons import ChoiceTap, decode
from handlers.context import Context, Services, resolve_choice
from handlers.i18n import Translator, normalize_language
from handlers.intake import flow as intake
from handlers.intake.entry import start_intake
from handlers.matters.flow import start_report
from handlers.messages import Inbound, Kind, Outbound
from handlers.outbox import write_outbox
from handlers.routes import QuickTap, Routes, build_routes
from handlers.templates.render import render
from storage.conversations import Conversations
from storage.db import Database, is_transient
from storage.repositories import InboundLog, People

log = logging.getLogger(__name__)

INTAKE_WORDS = ("报修", "repair", "维修")
# Where everything outside a dialog goes.
MENU = "menu"


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
        limits: flood.InboundLimits | None = None,
        routes: Routes | None = None,
        wake_taps: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.services = services
        self.wake = wake or (lambda: None)
        # Called when a tap's answer is left for the outbox to send (by default `wake`). On Telegram every tap
        # is answered here: waking the answers' claim after each event cost a transaction that found nothing.
        self.wake_taps = wake_taps or self.wake
        self.limits = limits or flood.InboundLimits()
        self.routes = routes or build_routes()
        # Channels whose tap answers are sent by the process right after the commit rather than by the
        # outbox's sender (registered by the channel when it starts; see bot/outbox/answers.py AnswerNow).
        self.answerers: dict[str, Callable[[Outbound], None]] = {}

    async def handle(self, inbound: Inbound) -> Result:
        """Handle one event in one transaction; a repeated event id has no effect."""
        try:
            result = await self._handle_retrying(inbound)
        except Exception:
            log.exception("failed to handle %s event %s", inbound.identity.channel, inbound.event_id)
            result = await self._apologise(inbound)
        queued = taps = False
        for message in result.outbound:
            answer = self.answerers.get(message.channel) if message.kind == "answer" else None
            if answer is not None:
                answer(message)  # its row was written already sent
            else:  # an answer goes in its chat's lane on some channels (WeChat's), on others it is claimed
                queued = True
                taps = taps or message.kind == "answer"
        if taps:
            self.wake_taps()
        if queued:
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
        token = flood.CURRENT.set(self.limits)
        try:
            quick = self._quick(inbound)
            if quick is not None and not self.db.is_sqlite and inbound.identity.channel in self.answerers:
                if (alone := await self._answered_alone(inbound, now, *quick)) is not None:
                    return alone
                quick = None  # read just now, and not settled: the whole path decides
            async with self.db.transaction() as session:
                return await self._in_transaction(session, inbound, now, quick)
        finally:
            flood.CURRENT.reset(token)

    def _quick(self, event: Inbound) -> tuple[object, QuickTap] | None:
        """The tap and its button's short way, for a tap on a button kind that has one."""
        if event.kind != Kind.BUTTON or not event.callback_id:
            return None
        tap = decode(event.button)
        button = self.routes.buttons.get(type(tap)) if tap is not None else None
        if button is None or button.quick is None:
            return None
        return tap, button.quick

    async def _answered_alone(
        self, event: Inbound, now: datetime, tap: object, quick: QuickTap
    ) -> Result | None:
        """PostgreSQL: a tap on a settled button (Accept on an offer already taken: a grab storm's losers)
        on a channel whose taps this process answers itself, decided by one read and recorded by one
        statement, with no transaction around them: two round trips instead of five (BEGIN, the answer's
        row written already sent, COMMIT), so the storm's answers wait less. None: the whole path.
        (On SQLite a statement's turn at the writers' lock costs what a transaction's does.)"""
        # Autocommit: the read needs no snapshot, and the event log's statement is atomic by itself. On the
        # connection, not a session: nothing here is an ORM object, and a session's machinery cost more
        # than the two statements.
        async with self.db.one_statement() as connection:
            answered = await quick(connection, event, tap, self.services)
            if answered is None or any(message.kind != "answer" for message in answered):
                return None  # not settled (or more than a toast to say)
            verdict = await flood.first_and_throttle_alone(connection, event, now, self.limits)
        if verdict is None:
            return Result(duplicate=True)
        if verdict:
            async with self.db.transaction() as session:
                return await self._slowed(session, event, now, verdict)
        return Result(outbound=answered)  # the toast's row is not written: a lost toast is all a crash costs

    async def _slowed(self, session: AsyncSession, event: Inbound, now: datetime, verdict: str) -> Result:
        """A sender over the limit is told to slow down (once a flood; a tap's spinner just stops)."""
        t = Translator(normalize_language(event.language_code, self.services.default_language))
        out = flood.slow_down(event, t, verdict == "warn")
        await write_outbox(session, out, now, answered_here=self.answerers)
        return Result(outbound=out, throttled=True)

    async def _in_transaction(
        self, session: AsyncSession, event: Inbound, now: datetime, quick: tuple[object, QuickTap] | None
    ) -> Result:
        verdict = await flood.first_and_throttle(session, event, now, self.limits)
        if verdict is None:
            return Result(duplicate=True)
        if verdict:
            return await self._slowed(session, event, now, verdict)
        if quick is not None:
            tap, short_way = quick
            answered = await short_way(session, event, tap, self.services)
            if answered is not None:
                await write_outbox(session, answered, now, answered_here=self.answerers)
                return Result(outbound=answered)
        ctx = await self._context(session, event)
        await route(ctx, self.routes)
        if ctx.inbound.callback_id:
            ctx.answer_tap()
        out = await said(ctx, self.routes)
        await write_outbox(session, out, now, answered_here=self.answerers, conversation=ctx.conv)
        return Result(outbound=out)

    async def _context(self, session: AsyncSession, inbound: Inbound) -> Context:
        now = self.services.clock.now()
        default = normalize_language(inbound.language_code, self.services.default_language)
        channel, external_id = inbound.identity.channel, inbound.identity.external_id
        conv, found = await Conversations(session).lock_with_sender(
            channel, inbound.chat_id, external_id, now
        )
        person, identity = await People(session).settle(
            found,
            channel,
            external_id,
            inbound.chat_id if inbound.is_private else identity_chat(inbound),
            now=now,
            display_name=inbound.display_name,
            language=default,
            language_code=inbound.language_code,
        )
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
                await write_outbox(session, out, now, answered_here=self.answerers)
                return Result(outbound=out)
        except Exception:
            log.exception("could not record the failure of event %s", inbound.event_id)
            return Result(failed=True)


def identity_chat(inbound: Inbound) -> str:
    """A person's private chat id on channels where it equals their user id (Telegram, console)."""
    return inbound.identity.external_id


async def said(ctx: Context, routes: Routes) -> list[Outbound]:
    """The event's replies with the notices it told rendered in place, in the order they were made."""
    if not ctx.told:
        return ctx.out
    out: list[Outbound] = []
    start = 0
    for at, notices in ctx.told:
        out.extend(ctx.out[start:at])
        out.extend(await render(ctx.session, ctx.services, notices, routes.templates, routes.ticketless))
        start = at
    out.extend(ctx.out[start:])
    return out


async def route(ctx: Context, routes: Routes) -> None:
    """Decide which dialog or command owns the event."""
    inbound = ctx.inbound
    if inbound.kind == Kind.EDITED:
        ctx.reply(ctx.t("I only read new messages, not edits. Please send it again as a new message."))
        return
    if not inbound.is_private:
        await _group(ctx, routes)
        return
    if inbound.kind == Kind.COMMAND:
        await _command(ctx, routes)
        return
    tap = decode(inbound.button) if inbound.kind == Kind.BUTTON else None
    if inbound.kind == Kind.BUTTON and not isinstance(tap, ChoiceTap):
        await _foreign_button(ctx, routes)
        return
    value, problem = resolve_choice(ctx.conv, inbound)
    if problem:
        await _bad_button(ctx, routes, problem)
        return
    if inbound.kind == Kind.BUTTON:
        ctx.answer_tap()
    dialog = routes.dialogs.get(ctx.conv.dialog) if ctx.conv.dialog else None
    if dialog is not None:
        await dialog(ctx, value)
    elif inbound.kind == Kind.TEXT and (wanted := _wanted(ctx, inbound.text)) == "repair":
        await start_intake(ctx)
    elif inbound.kind == Kind.TEXT and wanted == "matter":
        await start_report(ctx, inbound.text)
    else:
        await routes.dialogs[MENU](ctx, value)


def _wanted(ctx: Context, text: str) -> str:
    """What free words outside a dialog ask for: "repair", "matter" or "" (the menu).

    报修 is a repair; 投诉, 建议, 咨询 ... name a matter even when they speak of a repair ("投诉维修师傅");
    then 维修 / repair; then a department's business (噪音, 停车, 卫生 ...). Only residents file matters.
    """
    folded = text.casefold()
    resident = ctx.person.role == "resident"
    if "报修" in folded:
        return "repair"
    if resident and kinds.mentions(text):
        return "matter"
    if any(w in folded for w in INTAKE_WORDS):
        return "repair"
    if resident and ctx.community.matters.mentions(text):
        return "matter"
    return ""


async def _command(ctx: Context, routes: Routes) -> None:
    name, args = ctx.inbound.command, ctx.inbound.args.strip()
    if name == "start" and args and args != "repair":
        deep_link = routes.deep_links.get(args.split("_")[0])
        if deep_link is not None:
            await deep_link(ctx)
            return
    command = routes.commands.get(name)
    if command is not None:
        await command(ctx)
    else:
        ctx.reply(ctx.t("I don't know that command. Send /help to see what I can do."))


async def _bad_button(ctx: Context, routes: Routes, problem: str) -> None:
    t = ctx.t
    if problem == "stale":
        ctx.answer_tap(t("That button is from an earlier step."))
    else:
        ctx.answer_tap(t("Sorry, I couldn't read that button."))
    if ctx.conv.dialog == intake.NAME:
        ctx.reply(t("That button belongs to an earlier step. Here is where we are now:"))
        await intake.prompt(ctx)
    elif ctx.conv.dialog in routes.dialogs and ctx.conv.data.get("choices"):
        ctx.reply(t("That button is no longer valid. Please use the latest message."))
    else:
        ctx.reply(
            t(
                "That request is already finished. Send /repair to report a new one, or /mytickets to see "
                "your requests."
            )
        )


async def _foreign_button(ctx: Context, routes: Routes) -> None:
    tap = decode(ctx.inbound.button)
    button = routes.buttons.get(type(tap)) if tap is not None else None
    if button is None:
        await _bad_button(ctx, routes, "forged")
        return
    await button.handle(ctx, tap)


async def _group(ctx: Context, routes: Routes) -> None:
    """In groups the bot never runs intake: it points to a private chat instead."""
    for handler in routes.group_handlers:
        if await handler(ctx):
            return
    inbound = ctx.inbound
    if inbound.kind == Kind.BUTTON:
        tap = decode(inbound.button)
        if tap is not None and type(tap) in routes.buttons:
            await _foreign_button(ctx, routes)
        else:
            ctx.answer_tap(ctx.t("Please talk to me in a private chat for that."))
        return
    wants_intake = (
        inbound.kind == Kind.COMMAND and inbound.command in ("start", "repair", "report", "mytickets", "help")
    ) or (inbound.kind == Kind.TEXT and any(w in inbound.text.casefold() for w in INTAKE_WORDS))
    if not wants_intake:
        return
    link_for = ctx.services.deep_links.get(inbound.identity.channel)
    link = link_for("repair") if link_for else None
    text = (
        ctx.t("To report a matter, please message me privately; what you tell us stays private.")
        if inbound.command == "report"
        else ctx.t(
            "To report a repair, please message me privately; your address and phone number stay private."
        )
    )
    ctx.reply(text + ("\n" + link if link else ""))
