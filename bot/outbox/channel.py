"""What the outbox sender and a channel's delivery agree on: the call, the error a channel raises, and how
often and how late a failed row is tried again."""

from __future__ import annotations

import random
from typing import Protocol

from handlers.messages import Outbound

MAX_ATTEMPTS = 8
MAX_BACKOFF = 60.0


class DeliveryError(Exception):
    """A channel could not deliver.

    `permanent`: never retried. `retry_after`: the channel asked us to wait (Telegram's 429). `outage`: the
    channel could not be reached at all (connection refused, timeout before the request was out): the channel
    is paused, the row is not blamed. `in_doubt`: the request reached the channel but no answer came (a read
    timeout): it may have been delivered, so it is not sent again; the chat waits `settle` seconds, so that a
    late delivery still comes before the chat's next message.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        outage: bool = False,
        in_doubt: bool = False,
        settle: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.outage = outage
        self.in_doubt = in_doubt
        self.settle = settle


class Delivery(Protocol):
    """What a channel adapter offers the sender."""

    async def deliver(self, message: Outbound, edit_target: str | None) -> str | None:
        """Send, edit or answer; return the channel's message id when there is one."""
        ...


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter, in seconds (1, 2, 4 ... capped at a minute)."""
    base: float = min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)
