"""Residents' and technicians' photos from WeChat: through the media API, else the message's PicUrl.

Only fetching happens here; the handlers check, clean and store the bytes (MediaStore.put_image), exactly as
for Telegram photos. A photo that can't be fetched in time arrives as Photo(problem="unavailable") and the
dialog asks for it again.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import requests

from bot.wechat.client import Api, CallFailureOrTimeout, errcode
from handlers.messages import Photo

log = logging.getLogger(__name__)
FETCH_TIMEOUT = 3.0  # seconds per attempt: the whole callback must answer within WeChat's 5 seconds


class TooLarge(Exception):
    """More bytes than the media store takes."""


class PhotoFetcher:
    """Fetches one image message's bytes."""

    def __init__(self, api: Api, max_bytes: int, timeout: float = FETCH_TIMEOUT) -> None:
        self.api = api
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, media_id: str, pic_url: str) -> Photo:
        """The photo, or why not (too_large / unavailable)."""
        data: bytes | None = None
        if media_id:
            try:
                data = await self._media(media_id)
            except CallFailureOrTimeout as exc:
                # Only the code or the type: a transport error's text holds the URL, access token included.
                log.warning(
                    "media %s: download through the API failed: %s",
                    media_id,
                    errcode(exc) or type(exc).__name__,
                )
        if data is None and pic_url.startswith(("http://", "https://")):
            try:
                async with asyncio.timeout(self.timeout):  # not wait_for: see bot/wechat/client.py
                    data = await self._url(pic_url)
            except TooLarge:
                return Photo(data=None, size=None, file_ref=media_id, problem="too_large")
            except (httpx.HTTPError, TimeoutError) as exc:
                log.warning("media %s: PicUrl download failed: %s", media_id, type(exc).__name__)
        if data is None:
            return Photo(data=None, file_ref=media_id, problem="unavailable")
        if len(data) > self.max_bytes:
            return Photo(data=None, size=len(data), file_ref=media_id, problem="too_large")
        return Photo(data=data, size=len(data), file_ref=media_id)

    async def _media(self, media_id: str) -> bytes | None:
        answer = await self.api.call(lambda c: c.download_media(media_id), http_timeout=self.timeout)
        # wechatpy hands back the HTTP response for binary content and a dict for JSON answers.
        if isinstance(answer, requests.Response) and answer.content:
            return bytes(answer.content)
        return None

    async def _url(self, url: str) -> bytes:
        async with (
            httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as http,
            http.stream("GET", url) as res,
        ):
            res.raise_for_status()
            declared = int(res.headers.get("content-length") or 0)
            if declared > self.max_bytes:
                raise TooLarge
            buffer = bytearray()
            async for chunk in res.aiter_bytes():
                buffer.extend(chunk)
                if len(buffer) > self.max_bytes:
                    raise TooLarge
            return bytes(buffer)
