"""The bot as a real subprocess, SIGKILLed at random moments and restarted, again and again, while scripted
residents file requests and a technician grabs some of them; timers (seconds long here) fire meanwhile.

At the end: every confirmed ticket exists exactly once, no message went out twice (a message in flight at a
kill is in doubt instead, now and then lost), every other outbox row was delivered, in order per chat,
every timer fired once, and no phone number or token reached the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from dispatch import staff
from dispatch.clock import SystemClock
from storage.db import Database
from storage.models import (
    Conversation,
    InboundRate,
    InboxEvent,
    OutboxMessage,
    Ticket,
    TicketEvent,
    Timer,
)
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.botproc import TOKEN, BotProcess, Chats, LostCount, bot_env, fast_site, settle

RESIDENTS = [7300 + i for i in range(8)]
TECH = 8300
BOSS = 8400
MANAGER = 8500
ESCALATION_KINDS = ("escalated", "chase_contact", "chase_arrival", "chase_stall")


async def add_staff(db_url: str) -> None:
    db = Database(db_url)
    await db.upgrade()
    now = SystemClock().now()
    async with db.transaction() as s:
        tech = await staff.add(
            s,
            role=staff.Role.TECHNICIAN,
            name="Zhang",
            now=now,
            telegram_id=str(TECH),
            skills=("plumbing_electric",),
            capacity=100,
        )
        tech.language = "en"
        tech.on_duty = True
        for role, name, uid in ((staff.Role.SUPERVISOR, "Boss", BOSS), (staff.Role.MANAGER, "Liu", MANAGER)):
            person = await staff.add(s, role=role, name=name, now=now, telegram_id=str(uid))
            person.language = "en"
    await db.dispose()


async def technician(chats: Chats, numbers: set[str], stop: asyncio.Event) -> None:
    """Accepts the offers of the tickets in `numbers` (once each), ignores the rest."""
    server, taken = chats.server, set()
    while not stop.is_set():
        for message in list(server.sent_to(TECH)):
            for number in numbers - taken:
                if f"New job {number}" in message.content and "Accept" in " ".join(message.button_texts):
                    server.push_callback(TECH, message.message_id, message.callback_data_for("Accept"))
                    taken.add(number)
        await asyncio.sleep(0.2)


def lost_in(db: Database, server: FakeTelegramServer) -> LostCount:
    """How many of a chat's messages a kill left in doubt that never reached Telegram."""

    async def lost(chat: int) -> int:
        async with db.transaction() as s:
            stmt = select(OutboxMessage).where(
                OutboxMessage.chat_id == str(chat), OutboxMessage.kind == "send"
            )
            rows = (await s.execute(stmt)).scalars().all()
        return len(never_shown(server, rows))

    return lost


def never_shown(server: FakeTelegramServer, rows: Sequence[OutboxMessage]) -> list[int]:
    """The rows in doubt that Telegram never got: a text sent fewer times than rows carry it (a resident who
    asked again after a loss gets the same question again from another row)."""
    sends = [p for name, p in server.requests if name in ("sendMessage", "sendPhoto")]
    shown = Counter((str(p["chat_id"]), p.get("text") or p.get("caption")) for p in sends)
    lost: list[int] = []
    for row in rows:
        key = (row.chat_id, row.payload.get("text"))
        if row.kind == "send" and row.status == "sent":
            shown[key] -= 1
    for row in rows:
        key = (row.chat_id, row.payload.get("text"))
        if row.kind == "send" and row.status == "in_doubt":
            if shown[key] > 0:
                shown[key] -= 1
            else:
                lost.append(row.id)
    return lost


async def where_chats_stand(db: Database, server: FakeTelegramServer) -> str:
    """Each resident's conversation, waiting inbox rows, last outbox rows and flood state, for a failure."""
    lines = []
    async with db.transaction() as s:
        for chat in RESIDENTS:
            conv = (
                await s.execute(select(Conversation).where(Conversation.chat_id == str(chat)))
            ).scalar_one_or_none()
            inbox = (
                (await s.execute(select(InboxEvent).where(InboxEvent.chat_key.endswith(f":{chat}"))))
                .scalars()
                .all()
            )
            outbox = (
                (
                    await s.execute(
                        select(OutboxMessage)
                        .where(OutboxMessage.chat_id == str(chat))
                        .order_by(OutboxMessage.id.desc())
                        .limit(4)
                    )
                )
                .scalars()
                .all()
            )
            rate = (
                await s.execute(select(InboundRate).where(InboundRate.external_id == str(chat)))
            ).scalar_one_or_none()
            sends = [(r.id, r.kind, r.status, r.sending_at, str(r.payload.get("text"))[:25]) for r in outbox]
            lines.append(
                f"chat {chat}: step {conv and (conv.dialog, conv.step)}; "
                f"inbox {[(r.event_id, r.lease_owner, r.lease_until, r.attempts) for r in inbox]}; "
                f"outbox {sends}; "
                f"rate {rate and (rate.next_at, rate.warned_at)}; "
                f"shown {[m.content[:25] for m in server.sent_to(chat)[-3:]]}"
            )
    return "\n".join(lines)


async def killer(worker: BotProcess, stop: asyncio.Event, rng: random.Random) -> None:
    """SIGKILL and restart, again and again: mostly while the worker works (0.5-2 s after it answers
    /healthz), one time in four while it is still starting up. Counted from readiness, so a slow machine's
    start-ups still leave it time to work between kills."""
    while not stop.is_set():
        if rng.random() < 0.25:
            await asyncio.sleep(rng.uniform(0.3, 1.5))
        else:
            with contextlib.suppress(AssertionError):
                await worker.wait_healthy(timeout=30)
            await asyncio.sleep(rng.uniform(0.5, 2.0))
        if stop.is_set():
            break
        worker.kill()
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        worker.start()


async def test_sigkill_again_and_again_loses_nothing(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(6)
    async with FakeTelegramServer(rate_limit=True) as server:
        # Faster chats than Telegram's, to keep the test short; the bot is told a bit less than the server.
        server.PRIVATE_PER_SECOND, server.PRIVATE_BURST = 4.0, 4.0
        await add_staff(db_url)
        env = bot_env(
            server,
            db_url,
            tmp_path,
            BAOXIU_SITE_FILE=str(fast_site(tmp_path / "site.toml")),
            TELEGRAM_RATE_CHAT="3",
            TELEGRAM_RATE_CHAT_BURST="3",
        )
        worker = BotProcess(env, tmp_path, tmp_path / "bot.log")
        worker.start()
        db = Database(db_url)
        # A reply lost at a kill (at most once means it may be) leaves its resident asking again.
        chats = Chats(server, timeout=45, lost=lost_in(db, server))
        stop = asyncio.Event()
        wanted: set[str] = set()
        kill_task = asyncio.create_task(killer(worker, stop, rng))
        tech_task = asyncio.create_task(technician(chats, wanted, stop))
        try:

            async def resident(i: int, user: int) -> str:
                await asyncio.sleep(i * 0.4)
                number = await chats.file_request(user, f"The kitchen tap is leaking, flat {i}", room="1203")
                if i % 2 == 0:
                    wanted.add(number)  # the technician takes every other one
                return number

            started = asyncio.get_running_loop().time()
            try:
                numbers = await asyncio.gather(*(resident(i, u) for i, u in enumerate(RESIDENTS)))
            except AssertionError:
                print(await where_chats_stand(db, server))  # shown with the failure: what the bot holds
                raise
            print(f"filed in {asyncio.get_running_loop().time() - started:.1f}s, {worker.kills} kills")
            await asyncio.sleep(4)  # a little more crashing while offers, grabs and timers are in flight
            # A fast bot files everything between few kills: crash it some more so the test means something.
            while worker.kills < 5:  # noqa: ASYNC110 - kills are counted by another task, not signalled
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await kill_task
            await tech_task
        if not worker.alive:
            worker.start()
        # The killer's last restart may still be starting up (no bytecode cache, a busy machine): a SIGTERM
        # before `run` installs its handler ends it the hard way, which is not the graceful stop tested here.
        await worker.wait_healthy(timeout=30)
        # Quiet: let every timer due by now fire and every message go out, then stop gracefully.
        await settle(db, timeout=45, quiet=1.5)
        stopped = SystemClock().now()
        assert worker.stop() == 0
        await check(db, server, numbers, worker, stopped, chats.retries)
        await db.dispose()
        log = (tmp_path / "bot.log").read_text(errors="replace")
        assert "13812345678" not in log and TOKEN not in log
        assert worker.kills >= 5, f"only {worker.kills} kills"
        for line in log.splitlines():  # --log-json: one object a line (a killed worker may cut its last)
            if line.startswith("{") and line.endswith("}"):
                assert json.loads(line)["level"]


async def check(
    db: Database,
    server: FakeTelegramServer,
    numbers: list[str],
    worker: BotProcess,
    stopped: datetime,
    retries: int,
) -> None:
    async with db.transaction() as s:
        tickets = (await s.execute(select(Ticket))).scalars().all()
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        events = (await s.execute(select(TicketEvent))).scalars().all()
        timers = (await s.execute(select(Timer))).scalars().all()
    # Every confirmed ticket exists exactly once; nobody got a ticket twice.
    assert sorted(t.number for t in tickets) == sorted(numbers)
    assert len(set(numbers)) == len(RESIDENTS)
    assert Counter(t.resident_id for t in tickets).most_common(1)[0][1] == 1
    # Every row was delivered; a failed row may only be a button answer sent again after a crash.
    for row in rows:
        if row.status == "failed":
            assert row.kind == "answer" and "query" in row.error.lower(), (row.id, row.kind, row.error)
        elif row.status == "in_doubt":  # in flight at a kill: at most once, never a second copy
            assert row.kind != "edit", (row.id, row.kind, row.ref)
        else:
            assert row.status in ("sent", "skipped"), (row.id, row.status)
    # Each sent message is in its chat, in outbox order, once.
    by_message = {m.message_id: m for chat in {int(r.chat_id) for r in rows} for m in server.sent_to(chat)}
    recorded: dict[int, int] = {}
    for row in rows:
        if row.kind == "send" and row.status == "sent":
            assert row.channel_message_id is not None
            message = by_message[int(row.channel_message_id)]
            assert str(message.chat_id) == row.chat_id
            recorded[message.message_id] = row.id
    chats = {int(r.chat_id) for r in rows}
    for chat in chats:
        order = [recorded[m.message_id] for m in server.sent_to(chat) if m.message_id in recorded]
        assert order == sorted(order), f"chat {chat} out of order: {order}"
    # No message went out twice, however the kills fell (an offer's second copy would keep a live Accept
    # button): each text reached a chat at most as often as rows carry it. Counted in the calls Telegram got
    # (edits change what a message shows; none was refused here).
    sends = [p for name, p in server.requests if name in ("sendMessage", "sendPhoto")]
    shown = Counter((str(p["chat_id"]), p.get("text") or p.get("caption")) for p in sends)
    carried = Counter(
        (r.chat_id, r.payload["text"]) for r in rows if r.kind == "send" and r.status in ("sent", "in_doubt")
    )
    twice = {key: n - carried[key] for key, n in shown.items() if n > carried[key]}
    assert not twice, f"{twice} went out twice over {worker.kills} kills"
    doubtful = [row for row in rows if row.status == "in_doubt" and row.kind == "send"]
    lost = never_shown(server, rows)
    print(f"{len(doubtful)} in doubt after {worker.kills} kills, {len(lost)} of them never reached Telegram")
    assert retries <= len(lost), (retries, lost)  # a resident asked again only after a real loss
    # Lost only when a kill fell between the mark's commit and the request leaving: a few milliseconds on a
    # busy machine, hit by about one kill in five here (most kills fall while a new worker works off its
    # backlog, several chats' messages in flight). Marking more than the message about to leave (a whole
    # batch, say) would lose several at every kill.
    assert len(lost) <= max(2, worker.kills // 2), (lost, worker.kills)
    # Every timer due fired once: one event per escalation level or chase per ticket.
    late = stopped - timedelta(seconds=1)  # due before the worker stopped, with a sweep's time to spare
    assert not [(t.kind, t.due_at) for t in timers if t.status == "pending" and t.due_at <= late]
    seen: dict[tuple[int, str, str], int] = defaultdict(int)
    for event in events:
        if event.kind in ESCALATION_KINDS:
            seen[(event.ticket_id, event.kind, str(event.data.get("level", "")))] += 1
    assert seen and max(seen.values()) == 1, dict(seen)
    fired = Counter(t.kind for t in timers if t.status == "fired")
    assert fired["grab"] >= 1 and fired["contact"] >= 1, fired
    assert server.rate_limit_violations == 0
