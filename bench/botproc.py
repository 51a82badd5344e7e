"""One bot process for the bench: ours (build_app, TelegramRunner, timer loop), ours in Telegram's webhook
mode or on WeChat's Official Account (the web app on a free port), or a bare PTB echo bot."""

# Started by bench/bot.py as `python -m bench.botproc MODE DB_URL API_URL FILE_URL MEDIA_DIR`; it prints one
# JSON line when ready (with the web server's port in modes wechat and webhook), then answers JSON commands on
# stdin: stats, feed (residents through the router), quit.
# With BENCH_PROFILE=path it writes a cProfile of its whole life there; with BENCH_SQL_TALLY=path, a count of
# each distinct SQL statement it ran (which statements one update costs).

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import logging
import os
import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any

TOKEN = "123456:BENCH-TOKEN"
WEBHOOK_URL = "https://bench.invalid/telegram/webhook"  # only its path matters: the bench POSTs to the port
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"


class Counter(logging.Handler):
    """Counts warnings and errors so the bench can tell a run that limped from one that worked."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record; keep the first few errors' text."""
        if record.levelno >= logging.ERROR:
            self.errors += 1
            if len(self.first) < 5:
                self.first.append(self.format(record)[:600])
        else:
            self.warnings += 1


def memory() -> dict[str, float]:
    """Current and peak resident set size in bytes (from /proc) and CPU seconds used so far."""
    values = {}
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) * 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rss": values.get("VmRSS", 0),
        "hwm": values.get("VmHWM", 0),
        "cpu": usage.ru_utime + usage.ru_stime,
    }


SQL = {"statements": 0, "commits": 0, "connects": 0}
GC = {"full_passes": 0, "longest_pause": 0.0}  # the collector's full passes: each stops the event loop
_pass_started = 0.0
_counting = True  # off while the stats command collects on purpose


def time_collections(phase: str, info: dict[str, Any]) -> None:
    """A gc callback: count the full passes the work causes (not the stats command's own) and the longest."""
    global _pass_started
    if phase == "start":
        _pass_started = time.perf_counter()
    elif info.get("generation") == 2 and _counting:
        GC["full_passes"] += 1
        GC["longest_pause"] = max(GC["longest_pause"], time.perf_counter() - _pass_started)


TALLY: dict[str, int] = {}


def count_sql(engine: Any) -> None:
    """Count statements and commits: how much database work one update costs."""
    from sqlalchemy import event

    tally = bool(os.environ.get("BENCH_SQL_TALLY"))

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        SQL["statements"] += 1
        if tally:
            key = " ".join(statement.split())[:160]
            TALLY[key] = TALLY.get(key, 0) + 1

    @event.listens_for(engine, "commit")
    def _commit(*args: Any) -> None:
        SQL["commits"] += 1

    @event.listens_for(engine, "connect")
    def _connect(*args: Any) -> None:
        SQL["connects"] += 1


def say(payload: dict[str, Any]) -> None:
    """One JSON line to the parent."""
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def started(settings: Any) -> Any:
    """Our app built from `settings`, its statements counted, migrated and started."""
    from bot.app import build_app

    app = build_app(settings)
    for engine in app.db.engines:
        count_sql(engine.sync_engine)
    await app.start()
    return app


async def start_ours(db_url: str, api: str, files: str, media: str) -> tuple[Any, Any]:
    """Our bot as `baoxiu run` starts it: migrations, polling, the outbox sender and the timer sweep."""
    from bot.app import timer_loop
    from bot.channels import TelegramRunner
    from bot.settings import load_settings

    app = await started(
        load_settings(
            telegram_bot_token=TOKEN,
            telegram_api_base_url=api,
            telegram_file_base_url=files,
            database_url=db_url,
            baoxiu_media_dir=media,
        )
    )
    runner = TelegramRunner(app)
    await runner.start(poll_interval=0.0, long_poll=10)
    timers = timer_loop(app)
    timers.start()
    return app, (runner, timers)


async def start_webhook(db_url: str, api: str, files: str, media: str) -> tuple[Any, Any]:
    """Our bot in webhook mode as `baoxiu run` starts it (bot.channels.run_telegram): the web server with the
    webhook route (on a free port here), the Telegram runner registering the webhook, the timer loop.
    BAOXIU_WORKER_ID in the environment names the worker (two workers sharing a database need two names)."""
    from bot.app import timer_loop
    from bot.channels import TelegramRunner
    from bot.ops.web import WebServer
    from bot.settings import load_settings

    app = await started(
        load_settings(
            telegram_bot_token=TOKEN,
            telegram_api_base_url=api,
            telegram_file_base_url=files,
            telegram_webhook_url=WEBHOOK_URL,
            telegram_webhook_secret=WEBHOOK_SECRET,
            database_url=db_url,
            baoxiu_media_dir=media,
        )
    )
    web = WebServer(app, "127.0.0.1", 0)
    await web.start()
    runner = TelegramRunner(app)
    await runner.start()
    timers = timer_loop(app)
    timers.start()
    return app, (runner, timers, web)


async def start_wechat(db_url: str, api: str, media: str) -> tuple[Any, Any]:
    """Our bot with only an Official Account, as `baoxiu run` starts it: the callback on a free port."""
    from bench.wechat import APP_ID, APP_SECRET, OA_AES_KEY, OA_TOKEN
    from bot.channels import WeChatRunner
    from bot.settings import load_settings

    app = await started(
        load_settings(
            database_url=db_url,
            baoxiu_media_dir=media,
            baoxiu_language="zh_CN",
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_token=OA_TOKEN,
            wechat_aes_key=OA_AES_KEY,
            wechat_api_base_url=api,
        )
    )
    runner = WeChatRunner(app, run_sender=True, host="127.0.0.1", port=0)
    await runner.start()
    return app, runner


async def start_echo(api: str, files: str) -> Any:
    """The framework's floor: PTB polling and answering every message with one sendMessage."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    application = (
        ApplicationBuilder().token(TOKEN).base_url(api).base_file_url(files).concurrent_updates(64).build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        text = update.effective_message.text or "echo"
        # "offer N": a message with an Accept button, for the grab storm's floor (figure 2).
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Accept", callback_data="take")]])
        await context.bot.send_message(
            update.effective_chat.id, text, reply_markup=markup if text.startswith("offer") else None
        )

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("taken")

    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(answer))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=10)
    return application


async def feed(
    app: Any, first: int, count: int, concurrency: int, steps: int, channel: str
) -> dict[str, Any]:
    """Residents `first`.. send /repair, then tap My home, Building 1 (`steps` in all): left mid-dialog."""
    from handlers.messages import Identity, Inbound, Kind

    gate = asyncio.Semaphore(concurrency)

    def event(user: int, step: int, kind: Kind, **fields: Any) -> Inbound:
        return Inbound(
            identity=Identity(channel, str(user)),
            chat_id=str(user),
            kind=kind,
            event_id=f"bulk-{user}-{step}",
            at=datetime.now(UTC),
            display_name=f"Resident {user}",
            language_code="en",
            **fields,
        )

    def choice(result: Any, label: str) -> str:
        for message in result.outbound:
            for row in message.choices:
                for c in row:
                    if label in c.label:
                        return str(c.data)
        raise RuntimeError(f"no button {label!r} in {[m.text for m in result.outbound]}")

    async def one(user: int) -> None:
        async with gate:
            result = await app.router.handle(event(user, 1, Kind.COMMAND, command="repair", text="/repair"))
            for step, label in enumerate(["My home", "Building 1"][: steps - 1], start=2):
                result = await app.router.handle(event(user, step, Kind.BUTTON, button=choice(result, label)))

    started = time.perf_counter()
    await asyncio.gather(*(one(first + i) for i in range(count)))
    return {"fed": count, "seconds": time.perf_counter() - started}


async def serve(mode: str, db_url: str, api: str, files: str, media: str, counter: Counter) -> None:
    """Start, then obey commands until quit."""
    app: Any = None
    parts: Any = None
    ready: dict[str, Any] = {}
    if mode == "echo":
        parts = await start_echo(api, files)
    elif mode == "wechat":
        app, parts = await start_wechat(db_url, api, media)
        ready["port"] = parts.port
    elif mode == "webhook":
        app, parts = await start_webhook(db_url, api, files, media)
        ready["port"] = parts[2].port
    else:
        app, parts = await start_ours(db_url, api, files, media)
    if mode != "echo":
        from bot.ops.heap import freeze_startup_heap

        freeze_startup_heap()  # as bot.channels does once a worker has started
    say({"ready": True, **ready, **memory()})
    gc.callbacks.append(time_collections)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "feed":
            args = command["first"], command["count"], command["concurrency"], command["steps"]
            say(await feed(app, *args, command.get("channel", "telegram")))
        elif command["cmd"] == "stats":
            global _counting
            _counting = False
            gc.collect()
            _counting = True
            say(
                {
                    **memory(),
                    **SQL,
                    **GC,
                    "errors": counter.errors,
                    "warnings": counter.warnings,
                    "first": counter.first,
                }
            )
        elif command["cmd"] == "quit":
            break
    if mode == "echo":
        await parts.updater.stop()
        await parts.stop()
        await parts.shutdown()
    elif mode == "wechat":
        await parts.stop()
        await app.close()
    elif mode == "webhook":
        runner, timers, web = parts
        timers.stop()
        await runner.stop()
        await web.stop()
        await app.close()
    else:
        runner, timers = parts
        timers.stop()
        await runner.stop()
        await app.close()
    me = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in leftover:
        task.print_stack(file=sys.stderr)
    say({"bye": True, "leftover": [repr(t.get_coro()) for t in leftover]})


def main() -> None:
    """Entry point: MODE DB_URL API_URL FILE_URL MEDIA_DIR."""
    mode, db_url, api, files, media = sys.argv[1:6]
    counter = Counter()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger().addHandler(counter)
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_path else None
    if profiler:
        profiler.enable()
    try:
        asyncio.run(serve(mode, db_url, api, files, media, counter))
    finally:
        if profiler and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
        if tally_path := os.environ.get("BENCH_SQL_TALLY"):
            ranked = dict(sorted(TALLY.items(), key=lambda item: -item[1]))
            with open(tally_path, "w", encoding="utf-8") as out:
                json.dump(ranked, out, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
