"""A resident's /mydata archives: each one made is an ActionToken row (kind "mydata", the resident as target,
the archive's content hash in its data), so that erasure and retention find the files again.

Where the chat app can't carry a file (WeChat's Official Account) the row's token is a one-time download
link, usable once, for a few minutes, on any worker: redeeming it is one locked read-and-mark in the
transaction. Where the file went as a document (Telegram) the row is made already used: it is no link.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActionToken

KIND = "mydata"
LIFETIME = timedelta(minutes=10)


class DownloadRefused(Exception):
    """A link that gives nothing; `reason` is unknown, used or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Download:
    """The archive a link gives: its content hash in the media store and the file name."""

    sha256: str
    name: str


async def issue(session: AsyncSession, person_id: int, download: Download, now: datetime) -> str:
    """A fresh one-time link token for this resident's archive."""
    return _add(session, person_id, download, now).token


async def remember(session: AsyncSession, person_id: int, download: Download, now: datetime) -> None:
    """Note an archive sent as a document, so that it is found and removed later; it is no link."""
    _add(session, person_id, download, now).used_at = now


def _add(session: AsyncSession, person_id: int, download: Download, now: datetime) -> ActionToken:
    token = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    data = {"sha256": download.sha256, "name": download.name}
    row = ActionToken(token=token, kind=KIND, target_id=person_id, created_at=now, data=data)
    session.add(row)
    return row


async def redeem(
    session: AsyncSession, token: str, now: datetime, lifetime: timedelta = LIFETIME
) -> Download:
    """The archive a token gives, marking it used; DownloadRefused when unknown, used or expired."""
    row = await session.get(ActionToken, token[:24], with_for_update=True) if token else None
    if row is None or row.kind != KIND or row.target_id is None:
        raise DownloadRefused("unknown")
    if row.used_at is not None:
        raise DownloadRefused("used")
    if now - row.created_at > lifetime:
        raise DownloadRefused("expired")
    row.used_at = now
    return Download(str(row.data["sha256"]), str(row.data["name"]))


async def archives_of(session: AsyncSession, person_id: int) -> set[str]:
    """The content hashes of every archive ever linked for this resident (erasure removes the files)."""
    stmt = select(ActionToken.data).where(ActionToken.kind == KIND, ActionToken.target_id == person_id)
    return {str(data.get("sha256")) for data in (await session.execute(stmt)).scalars() if data.get("sha256")}
