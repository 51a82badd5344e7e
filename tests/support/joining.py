"""What a Telegram chat was asked right after the category: to join a neighbour's report, or for photos."""

from __future__ import annotations

from collections.abc import Sequence

from tests.fakes.telegram_objects import SentMessage

OWN = "File my own"


def asked(messages: Sequence[SentMessage]) -> str:
    """ "join" when a neighbour's open report was offered, "photos" at the photo step, "" before either."""
    for message in messages:
        if any(OWN in text for text in message.button_texts):
            return "join"
        if "photos" in message.content:
            return "photos"
    return ""
