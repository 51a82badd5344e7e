"""Limits a property office may change that are not per community: confirmation, codes, photos."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    """Closure rules; defaults follow DOMAIN.md and can be set from the environment."""

    confirm_reminder: timedelta = timedelta(hours=4)
    confirm_timeout: timedelta = timedelta(hours=24)
    unhappy_rating: int = 2
    min_after_photos: int = 1
    code_tries: int = 5
    max_appointment_moves: int = 3
    max_quote_cents: int = 5_000_000  # ¥50,000: anything above is a typo, not a household repair
    max_quote_items: int = 20
