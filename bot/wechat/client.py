"""API clients: wechatpy's own, pointed at a configurable base URL and fed by the shared token cache.

wechatpy is synchronous (requests), so calls run in worker threads. Its built-in token handling keeps a
token per process and retries a rejected token without end; here the token comes from `TokenCache` (one per
app for all workers) and a 40001/42001 answer refreshes it once and retries once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import requests
from wechatpy.client import WeChatClient
from wechatpy.enterprise.client import WeChatClient as WeChatWorkClient
from wechatpy.exceptions import WeChatClientException

from bot.wechat.token import TokenCache

log = logging.getLogger(__name__)
T = TypeVar("T")

# 40001 invalid credential, 40014 invalid access token, 42001 access token expired.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
ApiError = WeChatClientException


class TokenUnavailable(Exception):
    """WeChat would not give us an access token: `errcode` when it refused (wrong secret, IP not on the
    allow-list), None when it could not be reached."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errcode = code


# Failures of the channel rather than of one message: the sender pauses the channel and blames no row.
TransportError: tuple[type[Exception], ...] = (requests.RequestException, TokenUnavailable)
# Anything a call can fail with: WeChat's answer, or no answer.
CallFailure: tuple[type[Exception], ...] = (WeChatClientException, *TransportError)
CallFailureOrTimeout: tuple[type[Exception], ...] = (*CallFailure, TimeoutError)


def errcode(exc: BaseException) -> int | None:
    """WeChat's error code of a failed call (None for transport failures)."""
    code = getattr(exc, "errcode", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


class _NoStorage:
    """wechatpy's session interface, unused: tokens live in the database (see TokenCache)."""

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        return None

    def delete(self, key: str) -> None:
        return None


class _TokenFromCaller:
    """Mixin: the token of the current call is set per thread by Api.call, never fetched by wechatpy."""

    API_BASE_URL: str
    _local: threading.local
    _http: requests.Session
    timeout: float

    @property
    def access_token(self) -> str:
        """The token Api.call put in place for this thread."""
        return str(getattr(self._local, "token", ""))

    def use_token(self, token: str) -> None:
        """Make `token` the one this thread's next calls send."""
        self._local.token = token

    def download_media(self, media_id: str) -> Any:
        """GET media/get through the configured base URL (wechatpy's WeCom `media.download` ignores it and
        has no timeout): the HTTP response for a file, a dict for a JSON answer, ApiError for an error."""
        get: Callable[..., Any] = getattr(self, "get")  # noqa: B009 - provided by wechatpy's client
        return get("media/get", params={"media_id": media_id})

    def _get_token(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        # Short: the app's token row stays locked while we wait (see TokenCache).
        res = self._http.get(self.API_BASE_URL + endpoint, params=params, timeout=min(self.timeout, 5.0))
        res.raise_for_status()
        result: dict[str, Any] = res.json()
        if int(result.get("errcode", 0) or 0) != 0:
            raise WeChatClientException(
                result["errcode"], result.get("errmsg", ""), client=self, request=res.request, response=res
            )
        return result


class OAClient(_TokenFromCaller, WeChatClient):  # type: ignore[misc]
    """The Official Account API (api.weixin.qq.com/cgi-bin/ or a test server)."""

    def __init__(self, app_id: str, secret: str, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(app_id, secret, session=_NoStorage(), timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url
        self._local = threading.local()

    def fetch_access_token(self) -> dict[str, Any]:
        """GET token (client_credential)."""
        return self._get_token(
            "token", {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        )


class WorkClient(_TokenFromCaller, WeChatWorkClient):  # type: ignore[misc]
    """A WeCom self-built app's API (qyapi.weixin.qq.com/cgi-bin/ or a test server)."""

    def __init__(
        self, corp_id: str, secret: str, agent_id: int, base_url: str, timeout: float = 10.0
    ) -> None:
        super().__init__(corp_id, secret, session=_NoStorage(), timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url
        self.agent_id = agent_id
        self._local = threading.local()

    def fetch_access_token(self) -> dict[str, Any]:
        """GET gettoken."""
        return self._get_token("gettoken", {"corpid": self.corp_id, "corpsecret": self.secret})

    def send_card(self, user_id: str, card: dict[str, Any]) -> dict[str, Any]:
        """message/send with a template card; the answer's response_code updates it later."""
        msg = {"msgtype": "template_card", "template_card": card}
        result: dict[str, Any] = self.message.send(self.agent_id, user_id, msg=msg)
        return result

    def update_card(self, user_id: str, response_code: str, card: dict[str, Any]) -> dict[str, Any]:
        """message/update_template_card for one member's copy."""
        data = {
            "userids": [user_id],
            "agentid": self.agent_id,
            "response_code": response_code,
            "template_card": card,
        }
        result: dict[str, Any] = self.post("message/update_template_card", data=data)
        return result


async def fetch_token(client: OAClient | WorkClient) -> tuple[str, int]:
    """Ask WeChat for a new token (run by TokenCache under the app's row lock)."""
    try:
        result = await asyncio.to_thread(client.fetch_access_token)
    except (WeChatClientException, requests.RequestException) as exc:
        detail = f"{errcode(exc)} {getattr(exc, 'errmsg', '')}" if errcode(exc) else type(exc).__name__
        raise TokenUnavailable(f"no access token for {client.appid}: {detail}", errcode(exc)) from exc
    return str(result["access_token"]), int(result.get("expires_in") or 7200)


class Api:
    """Calls one app's API in a worker thread with the shared token; a rejected token is replaced once."""

    def __init__(self, client: OAClient | WorkClient, tokens: TokenCache) -> None:
        self.client = client
        self.tokens = tokens

    async def call(self, fn: Callable[[Any], T], *, http_timeout: float | None = None) -> T:
        """Run `fn(client)`; on 40001/42001 refresh the token (once for all workers) and run it again.

        `http_timeout` bounds each HTTP call (TimeoutError), never the token's database work, which must
        not be cancelled halfway.
        """
        token = await self.tokens.get()
        try:
            return await self._in_thread(token, fn, http_timeout)
        except WeChatClientException as exc:
            if errcode(exc) not in TOKEN_ERRORS:
                raise
            log.info("%s: token rejected (%s), refreshing once", self.tokens.app_key, errcode(exc))
        token = await self.tokens.invalidate(token)
        return await self._in_thread(token, fn, http_timeout)

    async def _in_thread(self, token: str, fn: Callable[[Any], T], limit: float | None) -> T:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that comes as the
        # thread finishes, and a sender told to stop would go on.
        async with asyncio.timeout(limit):
            return await asyncio.to_thread(self._run, token, fn)

    def _run(self, token: str, fn: Callable[[Any], T]) -> T:
        self.client.use_token(token)
        return fn(self.client)


class RobotClient:
    """A WeCom group robot: one webhook address (with its key), text in, nothing back."""

    def __init__(self, webhook: str, timeout: float = 10.0) -> None:
        self.webhook = webhook
        self.timeout = timeout

    async def send_text(self, content: str) -> None:
        """Post one text message; raise ApiError with WeChat's code when refused."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            res = await http.post(self.webhook, json={"msgtype": "text", "text": {"content": content}})
        res.raise_for_status()
        result = res.json()
        if int(result.get("errcode", 0) or 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""))
