"""Bot API calls over aiohttp: python-telegram-bot's request interface, at a quarter of httpx's CPU per call.

PTB's own HTTPXRequest spent about 1.2 ms of CPU on a sendMessage against a local server, this one about
0.3 ms (both with PTB's own work on the call included): on a busy worker the calls to Telegram were a quarter
of all its CPU. PTB documents BaseRequest for exactly this (see its docs for BaseRequest).

How a call can end matters to the outbox (bot/telegram/outbound.py): a request that went out whole and got no
answer in time may have been acted on (`NoAnswer`: a new message is then not sent again), while one that never
got out (no connection, refused, reset, no free connection in time) may simply be sent again
(`Unreachable`, or TimedOut for the connect and pool waits).
"""

from __future__ import annotations

import urllib.request

import aiohttp
import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Seconds an idle connection is kept, as httpx does: a server drops idle ones sooner or later.
KEEPALIVE = 5.0


class NoAnswer(TimedOut):
    """The request went out whole and no answer came in time: Telegram may have acted on it."""


class Unreachable(NetworkError):
    """No answer at all: the connection failed, was refused, or was dropped."""


class AiohttpRequest(BaseRequest):
    """PTB's requests through one aiohttp session with at most `connections` connections."""

    def __init__(
        self,
        connections: int = 1,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        pool_timeout: float = 1.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self._connections = connections
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    @property
    def read_timeout(self) -> float:
        """The read timeout of a call that sets none (PTB adds a long poll's seconds to it)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (inside the running loop, as aiohttp wants)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=KEEPALIVE)
            self._session = aiohttp.ClientSession(connector=connector)
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One call: its status and body; NoAnswer, TimedOut or Unreachable when there is none."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized")
        files = bool(request_data and request_data.contains_files)
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = [connect, pool, write, read]
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no write timeout: the whole call is bounded by the sum of its parts instead.
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,  # waiting for a connection
            sock_connect=connect,
            sock_read=read,  # from the request written whole to the answer, and between its chunks
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise TimedOut("no connection in time: the request was not sent") from exc
        except TimeoutError as exc:
            # The answer did not come in time (sock_read), or the call as a whole ran out while the request
            # was being written or answered: in neither case can we tell what Telegram did with it.
            raise NoAnswer(f"no answer in time: {exc or type(exc).__name__}") from exc
        except aiohttp.ClientConnectionError as exc:
            raise Unreachable(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy(self, url: str) -> str | None:
        """The proxy HTTP(S)_PROXY and NO_PROXY give for the URL's host, as httpx honours them by default.

        Looked up once per host: aiohttp's own trust_env reads the environment and ~/.netrc on every call,
        in a thread."""
        scheme, _, rest = url.partition("://")
        key = f"{scheme}://{rest.split('/', 1)[0]}"
        if key not in self._proxies:
            host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
            proxies = urllib.request.getproxies_environment()
            bypass = urllib.request.proxy_bypass_environment(host, proxies) if proxies else True  # type: ignore[attr-defined]
            self._proxies[key] = None if bypass else proxies.get(scheme.lower())
        return self._proxies[key]


def _given(value: ODVInput[float], default: float) -> float | None:
    """A call's own timeout, or this request's default where the call set none (None: no limit)."""
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The call's parameters form-encoded, or with its files as multipart (as PTB's HTTPXRequest sends)."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields or None
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def is_no_answer(exc: TimedOut) -> bool:
    """True when the request went out and no answer came (with PTB's HTTPXRequest too)."""
    if isinstance(exc, NoAnswer):
        return True
    return isinstance(exc.__cause__, httpx.ReadTimeout)


def is_unreachable(exc: NetworkError) -> bool:
    """True when no answer at all came back (with PTB's HTTPXRequest too), not an HTTP error answer."""
    if isinstance(exc, Unreachable):
        return True
    return isinstance(exc.__cause__, httpx.TransportError)
