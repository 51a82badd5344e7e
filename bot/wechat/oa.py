"""The Official Account's callback URL: residents' messages and events arrive here as signed XML.

GET with `echostr` is WeChat's URL verification (answered with echostr when the signature is right). POST
is a message, in plain or safe mode (`encrypt_type=aes`, decrypted with wechatpy's WeChatCrypto, which also
refuses a message encrypted for another app id). Every request must carry a valid signature: otherwise 403
and nothing is processed. A replayed request (same timestamp and nonce) is answered but not processed.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.wechat.callback import MAX_BODY, CallbackCore, signature_ok
from bot.wechat.inbound import event_id
from bot.wechat.xmlmsg import XmlError, parse_xml

log = logging.getLogger(__name__)
PATH = "/wechat/oa"


def forbidden(why: str) -> Response:
    """403 for a request that is not provably from WeChat."""
    log.warning("wechat callback refused: %s", why)
    return PlainTextResponse("forbidden", status_code=403)


def bad_request(why: str) -> Response:
    """400 for a signed request whose body we can't read (WeChat logs it; we don't crash)."""
    log.warning("wechat callback unreadable: %s", why)
    return PlainTextResponse("bad request", status_code=400)


async def read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than any WeChat message."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class OfficialAccountCallback:
    """The Starlette endpoint for one Official Account."""

    def __init__(self, core: CallbackCore, token: str, aes_key: str | None, app_id: str) -> None:
        self.core = core
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    async def endpoint(self, request: Request) -> Response:
        """GET: URL verification; POST: one message."""
        q = request.query_params
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not (timestamp and nonce) or not signature_ok(
            (self.token, timestamp, nonce), q.get("signature", "")
        ):
            return forbidden("missing or wrong signature")
        if request.method == "GET":
            return PlainTextResponse(q.get("echostr", ""))
        if self.core.stale(timestamp):
            return forbidden("timestamp too old or in the future")
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        encrypted = q.get("encrypt_type", "raw") == "aes"
        try:
            outer = parse_xml(body)
        except XmlError as exc:
            return bad_request(str(exc))
        if encrypted:
            if self.crypto is None:
                return bad_request("an encrypted message, but WECHAT_AES_KEY is not set")
            sealed = outer.get("Encrypt", "")
            if not signature_ok((self.token, timestamp, nonce, sealed), q.get("msg_signature", "")):
                return forbidden("missing or wrong msg_signature")
        elif self.crypto is not None:
            # Safe mode is on, so a plain body is not covered by any signature: refuse it.
            return forbidden("plain message while safe mode is configured")
        if self.crypto is not None:
            try:
                msg = parse_xml(
                    self.crypto.decrypt_message({"Encrypt": sealed}, q["msg_signature"], timestamp, nonce)
                )
            except (InvalidSignatureException, InvalidAppIdException):
                return forbidden("encrypted for another app id")
            except XmlError as exc:
                return bad_request(str(exc))
            except Exception as exc:  # base64, padding, length: anything wrong inside the ciphertext
                return bad_request(f"cannot decrypt: {type(exc).__name__}")
        else:
            msg = outer
        if not msg.get("MsgType") or not msg.get("FromUserName"):
            return bad_request("no MsgType or FromUserName")
        # The replay check shares the message's INSERT: one commit before the answer.
        if not await self.core.handle(msg, replay=self.core.nonce_key(timestamp, nonce)):
            log.info("wechat callback %s replayed or repeated: not handled again", event_id(msg))
        return PlainTextResponse("success")
