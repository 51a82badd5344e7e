"""One access token per app, shared by every worker through the database and refreshed before it expires.

WeChat allows a limited number of token fetches a day and a new token retires the old one after a few
minutes, so workers must not each fetch their own. The row of an app is locked while one worker fetches;
the others wait for it and take the token it stored. A 40001/42001 answer (`invalidate`) fetches again only
if nobody has replaced the rejected token meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from storage.db import Database
from storage.models import WeChatToken
from storage.repositories import upsert

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# WeChat hands out tokens for 7200 s; take a new one this long before the old one runs out.
REFRESH_MARGIN = timedelta(minutes=5)
Fetch = Callable[[], Awaitable[tuple[str, int]]]


class TokenCache:
    """The access token of one app (an Official Account or a WeCom app), cached in the `wechat_tokens` row."""

    def __init__(
        self, db: Database, clock: Clock, app_key: str, fetch: Fetch, *, margin: timedelta = REFRESH_MARGIN
    ) -> None:
        self.db = db
        self.clock = clock
        self.app_key = app_key
        self._fetch = fetch
        self.margin = margin
        self.fetches = 0  # how many times this process asked WeChat for a token (for tests and logs)
        self._memo: tuple[str, datetime] | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, expires_at: datetime) -> bool:
        return expires_at - self.margin > self.clock.now()

    async def get(self) -> str:
        """A token that is valid for at least the margin."""
        if self._memo is not None and self._fresh(self._memo[1]):
            return self._memo[0]
        async with self.db.transaction() as session:
            row = await session.get(WeChatToken, self.app_key, populate_existing=True)
            seen = (row.token, row.expires_at) if row is not None else ("", EPOCH)
        if seen[0] and self._fresh(seen[1]):
            self._memo = seen
            return seen[0]
        return await self._refresh(seen[0])

    async def invalidate(self, rejected: str) -> str:
        """WeChat called `rejected` invalid or expired: a replacement (fetched once across all workers)."""
        self._memo = None
        return await self._refresh(rejected)

    async def renew(self) -> str:
        """Fetch a new token now and share it (proves the credentials; the old one works a while yet)."""
        self._memo = None
        return await self._refresh(None)

    async def _refresh(self, seen: str | None) -> str:
        """`seen`: the token the caller found wanting; None to fetch whatever is stored."""
        async with self._lock:
            async with self.db.transaction() as session:
                row = await self._locked(session)
                if seen is not None and row.token and row.token != seen and self._fresh(row.expires_at):
                    token, expires_at = row.token, row.expires_at  # another worker got there first
                else:
                    token, expires_in = await self._fetch()
                    self.fetches += 1
                    now = self.clock.now()
                    expires_at = now + timedelta(seconds=max(60, expires_in))
                    row.token, row.expires_at, row.refreshed_at = token, expires_at, now
                    log.info("new access token for %s, valid until %s", self.app_key, expires_at)
            self._memo = (token, expires_at)
            return token

    async def _locked(self, session: AsyncSession) -> WeChatToken:
        await session.execute(
            upsert(session, WeChatToken)
            .values(app=self.app_key, token="", expires_at=EPOCH, refreshed_at=EPOCH)
            .on_conflict_do_nothing()
        )
        stmt = (
            select(WeChatToken)
            .where(WeChatToken.app == self.app_key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(stmt)).scalar_one()
