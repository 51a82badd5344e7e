"""Several workers on one PostgreSQL database.

Two real bot processes in webhook mode take deliveries of the same chats (a chat's updates spread over both,
some delivered to both at once); residents file requests, double-tap two answers at once, technicians race
for the same offers, and timers (seconds long here) fall due while both workers sweep. Exactly one winner per
offer, no interleaved dialog state, each timer and each message once, Telegram's limits kept by the
deployment as a whole.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch import staff
from dispatch.clock import SystemClock
from dispatch.site import load_site
from handlers.context import Services
from storage.conversations import Conversations
from storage.db import Database
from storage.media import MediaStore
from storage.models import Conversation, Offer, OutboxMessage, Person, Ticket, TicketEvent
from tests.fakes.telegram_server import FakeTelegramServer
from tests.support.botproc import SECRET, BotProcess, Chats, WebhookTelegram, bot_env, fast_site, settle
from tests.support.harness import file_and_dispatch
from tests.support.pg import postgres_url

TECHS = [8600 + i for i in range(6)]
RESIDENTS = [7600 + i for i in range(6)]
BOSS = 8700
PATH = "/telegram/webhook"


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> str:
    return postgres_url(request)


async def test_conversation_lock_serialises_transactions(pg: str) -> None:
    """The row lock that keeps a chat's events apart, on two connections (as two workers have)."""
    a, b = Database(pg), Database(pg)
    await a.upgrade()
    now = SystemClock().now()
    order: list[object] = []
    a_locked = asyncio.Event()

    async def first(chat: str) -> None:
        async with a.transaction() as s:
            conv = await Conversations(s).lock("t", chat, now)
            order.append("a locked")
            a_locked.set()
            await asyncio.sleep(0.4)
            conv.step = "set by a"
            order.append("a done")

    async def second(chat: str) -> None:
        await a_locked.wait()
        async with b.transaction() as s:
            conv = await Conversations(s).lock("t", chat, now)
            order.append(("b locked", conv.step))

    for chat in ("new", "new"):  # first a row that doesn't exist yet, then one that does
        order.clear()
        a_locked.clear()
        await asyncio.gather(first(chat), second(chat))
        assert order == ["a locked", "a done", ("b locked", "set by a")]
    await a.dispose()
    await b.dispose()


async def add_people(db: Database) -> None:
    now = SystemClock().now()
    async with db.transaction() as s:
        for uid in TECHS:
            tech = await staff.add(
                s,
                role=staff.Role.TECHNICIAN,
                name=f"T{uid}",
                now=now,
                telegram_id=str(uid),
                skills=("plumbing_electric",),
                capacity=100,
            )
            tech.language, tech.on_duty = "en", True
        boss = await staff.add(s, role=staff.Role.SUPERVISOR, name="Boss", now=now, telegram_id=str(BOSS))
        boss.language = "en"


async def file_direct(db: Database, site_path: Path, resident_uid: int, text: str) -> str:
    """A ticket filed and dispatched in one transaction, as intake does."""
    site, now = load_site(site_path), SystemClock().now()

    services = Services(site=site, clock=SystemClock(), media=MediaStore(site_path.parent / "media"))
    async with db.transaction() as s:
        resident = Person(name="R", role="resident", language="en", created_at=now)
        s.add(resident)
        await s.flush()
        await staff.bind_identity(s, resident, "telegram", str(resident_uid), str(resident_uid), now=now)
        ticket = await file_and_dispatch(s, services, resident.id, text, now, "en")
        return ticket.number


async def race(chats: Chats, telegram: WebhookTelegram, number: str) -> None:
    """Every technician taps Accept on the same offer at once, half through each worker."""
    server = chats.server
    await server.wait_for(
        lambda: all(any(f"New job {number}" in m.content for m in server.sent_to(t)) for t in TECHS),
        timeout=30,
        message=f"offers of {number}",
    )
    updates = []
    for tech in TECHS:
        offer = next(m for m in server.sent_to(tech) if f"New job {number}" in m.content)
        # Only this tap: other chats' updates queued meanwhile stay for the forwarder.
        updates.append(
            server.take_update(
                server.push_callback(tech, offer.message_id, offer.callback_data_for("Accept"))
            )
        )
    await asyncio.gather(
        *(telegram.post(update, telegram.workers[i % 2]) for i, update in enumerate(updates))
    )


async def double_tap(chats: Chats, telegram: WebhookTelegram, user: int) -> None:
    """Two different answers to one question, tapped at once and delivered to different workers."""
    server = chats.server
    await chats.say(user, "/repair", expect="Where is the problem?")
    await chats.tap(user, "My home", expect="Which building?")
    await server.wait_for(lambda: not telegram.queues[user].qsize())
    await asyncio.sleep(0.3)  # let the previous delivery finish
    question = chats.newest_with(user, "Building 2")
    count = len(server.sent_to(user))
    updates = []
    for label in ("Building 1", "Building 2"):
        update_id = server.push_callback(user, question.message_id, question.callback_data_for(label))
        updates.append(server.take_update(update_id))
    await asyncio.gather(*(telegram.post(u, w) for u, w in zip(updates, telegram.workers, strict=True)))
    await server.wait_for(
        lambda: sum("Which unit" in m.content for m in server.sent_to(user)[count:]) >= 2, timeout=20
    )
    stale = [m for m in server.sent_to(user)[count:] if "earlier step" in m.content]
    assert len(stale) == 1, [m.content for m in server.sent_to(user)[count:]]


async def test_two_workers_one_database(tmp_path: Path, pg: str) -> None:
    rng = random.Random(7)
    site = fast_site(tmp_path / "site.toml", grab="4s", manager="3s", contact="4s")
    db = Database(pg)
    await db.upgrade()
    await add_people(db)
    async with FakeTelegramServer(rate_limit=True) as server:
        server.PRIVATE_PER_SECOND, server.PRIVATE_BURST = 4.0, 4.0
        env = bot_env(
            server,
            pg,
            tmp_path,
            BAOXIU_SITE_FILE=str(site),
            TELEGRAM_WEBHOOK_URL="https://bot.example.test" + PATH,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            TELEGRAM_RATE_CHAT="3",
            TELEGRAM_RATE_CHAT_BURST="3",
        )
        workers = [BotProcess(env, tmp_path, tmp_path / f"worker{i}.log") for i in range(2)]
        for worker in workers:
            worker.start()
        try:
            await asyncio.gather(*(w.wait_healthy() for w in workers))
            assert server.webhook_url.endswith(PATH)
            telegram = WebhookTelegram(server, workers, SECRET, PATH, rng)
            forward = asyncio.create_task(telegram.run())
            chats = Chats(server, timeout=40)
            # Residents file through both workers at once; two of them also double-tap.
            try:
                numbers = await asyncio.gather(
                    *(chats.file_request(u, f"The kitchen tap is leaking at {u}") for u in RESIDENTS[:4]),
                    *(double_tap(chats, telegram, u) for u in RESIDENTS[4:]),
                )
            except AssertionError:
                await explain(db, telegram, workers)
                raise
            filed = [n for n in numbers if n]
            assert len(filed) == 4
            # More tickets straight into the database: eight raced for, three left alone (they escalate).
            extra = [await file_direct(db, site, 7700 + i, f"Leak number {i}") for i in range(11)]
            for worker in workers:  # nudge: the rows were written by this test, not by a worker
                assert worker.alive
            raced = filed + extra[:8]
            await asyncio.gather(*(race(chats, telegram, n) for n in raced))
            await asyncio.sleep(9)  # grab, manager and contact windows pass; both workers sweep
            await settle(db)
            forward.cancel()
            await telegram.close()
        finally:
            codes = [w.stop() for w in workers]
        assert codes == [0, 0], [w.tail() for w in workers]
        await check(db, server, raced, extra[8:])
    await db.dispose()


async def explain(db: Database, telegram: WebhookTelegram, workers: list[BotProcess]) -> None:
    """Print what the deliveries, the outbox and the workers say, for a failed run."""
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        from storage.models import OutboxLane

        lanes = (await s.execute(select(OutboxLane))).scalars().all()
    print("deliverer failures:", telegram.failures)
    for user in RESIDENTS:
        print(f"--- chat {user}")
        print("\n".join(telegram.story(user)[-8:]))
        for row in rows:
            if row.chat_id == str(user):
                print(row.id, row.kind, row.status, row.attempts, row.next_attempt_at, row.error[:80])
    for lane in lanes:
        if lane.lease_until is not None or lane.paused_until is not None:
            print(
                "lane", lane.chat_id, lane.lease_owner, lane.lease_until, lane.paused_until, lane.next_send_at
            )
    for worker in workers:
        print(f"--- {worker.log.name}")
        print("\n".join(line for line in worker.tail(300).splitlines() if '"INFO"' not in line)[-3000:])


async def check(db: Database, server: FakeTelegramServer, raced: list[str], alone: list[str]) -> None:
    async with db.transaction() as s:
        tickets = {t.number: t for t in (await s.execute(select(Ticket))).scalars()}
        offers = (await s.execute(select(Offer))).scalars().all()
        events = (await s.execute(select(TicketEvent))).scalars().all()
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        convs = (await s.execute(select(Conversation))).scalars().all()
    # Exactly one winner per offer.
    for number in raced:
        ticket = tickets[number]
        assert ticket.technician_id is not None
        statuses = sorted(o.status for o in offers if o.ticket_id == ticket.id)
        assert statuses == ["lost"] * (len(TECHS) - 1) + ["taken"], (number, statuses)
        assert sum(1 for e in events if e.ticket_id == ticket.id and e.kind == "taken") == 1
    # Each timer fired once: one escalation per level for the tickets nobody took, one chase per grab.
    levels = Counter(
        (e.ticket_id, e.kind, str(e.data.get("level", "")))
        for e in events
        if e.kind.startswith(("escal", "chase"))
    )
    assert levels and max(levels.values()) == 1, levels
    for number in alone:
        mine = {k[2] for k in levels if k[0] == tickets[number].id and k[1] == "escalated"}
        assert mine == {"supervisor", "manager"}, (number, mine)
    # Each message once: every delivered row is one message in its chat, nothing else was sent.
    assert all(r.status == "sent" for r in rows), Counter(r.status for r in rows)
    sends = [r for r in rows if r.kind == "send"]
    recorded = {int(r.channel_message_id or 0) for r in sends}
    assert len(recorded) == len(sends)
    sent_by_bot = [m for chat in {int(r.chat_id) for r in rows} for m in server.sent_to(chat)]
    assert sorted(m.message_id for m in sent_by_bot) == sorted(recorded)
    # Dialog state stayed consistent: the double-tappers are at the unit step of one building.
    for conv in convs:
        if conv.chat_id in {str(u) for u in RESIDENTS[4:]}:
            assert conv.step == "unit" and conv.data["draft"]["building"] in ("1", "2"), (
                conv.step,
                conv.data,
            )
    assert server.rate_limit_violations == 0
    assert len(server.callback_answers) == len({a["callback_query_id"] for a in server.callback_answers})
