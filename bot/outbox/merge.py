"""Notices due at once for one chat, merged into one message on channels that count messages.

WeChat's Official Account may send a follower only a few customer-service messages after each thing they do
(see bot/wechat/quota.py), so where several rows of one chat are due together (a completion notice and the
"Fixed / Not fixed?" question; a burst of progress notices) they go as one message: the texts one after the
other, the photos together, the last row's choices. A delivery asks for this with `merges_notices = True`.
"""

from __future__ import annotations

from datetime import datetime

from handlers.messages import Outbound
from storage.models import OutboxMessage

MAX_MERGED = 6  # rows per merged message
MAX_TEXT = 1500  # characters of merged text (a long merge would only be split again)


def _plain(row: OutboxMessage) -> bool:
    """A new message with nothing that can't be merged (edits, tap answers, files, keyboards)."""
    p = row.payload
    return (
        not row.edit_ref
        and not p.get("callback_id")
        and not p.get("documents")
        and not p.get("reply_keyboard")
    )


def run_length(rows: list[OutboxMessage], start: int, now: datetime) -> int:
    """How many rows from `start` go as one message (at least 1): due, plain, only the last with choices."""
    first = rows[start]
    if not _plain(first) or first.payload.get("choices"):
        return 1
    size = len(str(first.payload.get("text", "")))
    end = start + 1
    while end < len(rows) and end - start < MAX_MERGED:
        row = rows[end]
        size += len(str(row.payload.get("text", "")))
        # A row in flight when its worker died goes on its own: it is finished as in doubt, never sent.
        if row.next_attempt_at > now or not _plain(row) or size > MAX_TEXT or row.sending_at is not None:
            break
        end += 1
        if row.payload.get("choices"):
            break
    return end - start


def merged(rows: list[OutboxMessage]) -> Outbound:
    """One message carrying the rows' texts, photos and the last row's choices."""
    messages = [Outbound.from_row(r.channel, r.chat_id, r.payload, r.ref, r.edit_ref) for r in rows]
    last = messages[-1]
    last.text = "\n\n".join(m.text for m in messages if m.text)
    last.photos = [sha for m in messages for sha in m.photos]
    last.important = any(r.important for r in rows)
    return last
