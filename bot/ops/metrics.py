"""Prometheus metrics: counters kept by this process, gauges read from the database at scrape time.

Counters (updates handled, messages sent, delivery failures) are per process, as Prometheus expects; sum
them over workers. Gauges that describe the deployment (tickets by state, outbox depth and age, timer lag)
come from the shared database, so every worker reports the same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxMessage, Ticket, Timer

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "baoxiu_updates_handled",
    "Inbound events handled, by channel and outcome (handled, duplicate, throttled, failed)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
SENT = Counter(
    "baoxiu_messages_sent",
    "Outbox rows delivered, by channel and kind",
    ["channel", "kind"],
    registry=REGISTRY,
)
DELIVERY_FAILURES = Counter(
    "baoxiu_delivery_failures",
    "Failed delivery attempts, by channel and reason (retry, rate_limited, outage, permanent)",
    ["channel", "reason"],
    registry=REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "baoxiu_delivery_seconds",
    "Time of one channel call",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
TIMERS_FIRED = Counter("baoxiu_timers_fired", "Timers fired by this process", registry=REGISTRY)


@dataclass
class Snapshot:
    """Deployment-wide figures read from the database."""

    tickets: dict[str, int] = field(default_factory=dict)
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> rows
    oldest_pending: dict[str, float] = field(default_factory=dict)  # channel -> seconds
    timer_lag: float = 0.0
    timers_pending: int = 0
    loops: dict[str, float] = field(default_factory=dict)  # loop -> seconds since its last pass


async def snapshot(db: Database, now: datetime, loops: dict[str, datetime | None]) -> Snapshot:
    """Read the gauges' values."""
    snap = Snapshot()
    async with db.transaction() as session:
        for status, count in await session.execute(
            select(Ticket.status, func.count()).group_by(Ticket.status)
        ):
            snap.tickets[str(status)] = int(count)
        rows = await session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.channel, OutboxMessage.status
            )
        )
        for channel, status, count in rows:
            snap.outbox[(str(channel), str(status))] = int(count)
        oldest = await session.execute(
            select(OutboxMessage.channel, func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status == "pending")
            .group_by(OutboxMessage.channel)
        )
        for channel, created in oldest:
            if created is not None:
                snap.oldest_pending[str(channel)] = max(0.0, (now - _aware(created)).total_seconds())
        due = (
            await session.execute(
                select(func.min(Timer.due_at), func.count()).where(
                    Timer.status == "pending", Timer.due_at <= now
                )
            )
        ).one()
        if due[0] is not None:
            snap.timer_lag = max(0.0, (now - _aware(due[0])).total_seconds())
        snap.timers_pending = int(
            (await session.execute(select(func.count()).where(Timer.status == "pending"))).scalar_one()
        )
    for name, last in loops.items():
        snap.loops[name] = (now - last).total_seconds() if last is not None else -1.0
    return snap


def _aware(value: datetime) -> datetime:
    # func.min() bypasses the column type on SQLite, so the UTC marker may be missing.
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _SnapshotCollector(Collector):
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterable[Metric]:
        snap = self.snap
        tickets = GaugeMetricFamily("baoxiu_tickets", "Tickets by status", labels=["status"])
        for status, count in sorted(snap.tickets.items()):
            tickets.add_metric([status], count)
        depth = GaugeMetricFamily(
            "baoxiu_outbox_rows", "Outbox rows by channel and status", labels=["channel", "status"]
        )
        for (channel, status), count in sorted(snap.outbox.items()):
            depth.add_metric([channel, status], count)
        pending = GaugeMetricFamily(
            "baoxiu_outbox_depth", "Outbox rows waiting to be sent", labels=["channel"]
        )
        channels = {channel for channel, _ in snap.outbox}
        for channel in sorted(channels):
            pending.add_metric([channel], snap.outbox.get((channel, "pending"), 0))
        age = GaugeMetricFamily(
            "baoxiu_outbox_oldest_age_seconds", "Age of the oldest pending outbox row", labels=["channel"]
        )
        for channel in sorted(channels):
            age.add_metric([channel], snap.oldest_pending.get(channel, 0.0))
        failed = GaugeMetricFamily(
            "baoxiu_outbox_failed", "Outbox rows given up on (permanent errors)", labels=["channel"]
        )
        for channel in sorted(channels):
            failed.add_metric([channel], snap.outbox.get((channel, "failed"), 0))
        lag = GaugeMetricFamily("baoxiu_timer_lag_seconds", "How late the most overdue pending timer is")
        lag.add_metric([], snap.timer_lag)
        timers = GaugeMetricFamily("baoxiu_timers_pending", "Timers waiting to fire")
        timers.add_metric([], snap.timers_pending)
        loops = GaugeMetricFamily(
            "baoxiu_loop_last_run_age_seconds",
            "Seconds since this worker's loop last ran (-1: never)",
            labels=["loop"],
        )
        for name, seconds in sorted(snap.loops.items()):
            loops.add_metric([name], seconds)
        yield from (tickets, depth, pending, age, failed, lag, timers, loops)


def exposition(snap: Snapshot) -> bytes:
    """The Prometheus text format: this process's counters, then the database gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_SnapshotCollector(snap))
    return generate_latest(REGISTRY) + generate_latest(scrape)


def parse(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in an exposition (for tests and the CLI)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)
