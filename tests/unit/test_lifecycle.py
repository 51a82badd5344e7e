"""The transition table, pair by pair: every allowed pair works and is logged, every other pair is refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch.lifecycle import TRANSITIONS, Status, TransitionRefused, allowed, transition
from storage.models import Ticket, TicketEvent

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PAIRS = list(itertools.product(Status, Status))


class RecordingSession:
    """Just enough of a session for transition(): it records what was added."""

    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)


def ticket_in(status: Status) -> Ticket:
    return Ticket(id=1, number="BX-20261123-0001", status=str(status), stamps={}, updated_at=NOW)


@pytest.mark.parametrize(("current", "wanted"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
async def test_every_pair(current: Status, wanted: Status) -> None:
    session = RecordingSession()
    ticket = ticket_in(current)
    if (current, wanted) in TRANSITIONS:
        event = await transition(session, ticket, wanted, now=NOW, actor_id=7)  # type: ignore[arg-type]
        assert ticket.status == wanted and ticket.updated_at == NOW
        assert ticket.stamps == {str(wanted): NOW.isoformat()}
        assert isinstance(event, TicketEvent) and session.added == [event]
        assert (event.from_status, event.to_status, event.actor_id, event.at) == (current, wanted, 7, NOW)
    else:
        with pytest.raises(TransitionRefused) as refused:
            await transition(session, ticket, wanted, now=NOW, actor_id=7)  # type: ignore[arg-type]
        assert ticket.status == current and session.added == []
        assert f"{current} -> {wanted} is not allowed" in str(refused.value)


def test_the_table_covers_the_life_cycle() -> None:
    reachable = {Status.SUBMITTED}
    frontier = [Status.SUBMITTED]
    while frontier:
        state = frontier.pop()
        for a, b in TRANSITIONS:
            if a == state and b not in reachable:
                reachable.add(b)
                frontier.append(b)
    assert reachable == set(Status)
    terminal = {s for s in Status if not any(a == s for a, _ in TRANSITIONS)}
    assert terminal == {Status.CANCELLED, Status.REJECTED}
    assert not allowed("completed", "cancelled") and not allowed("on_site", "cancelled")
    assert not allowed("nonsense", "closed")
