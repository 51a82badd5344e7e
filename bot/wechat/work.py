"""The WeCom app's callback URL: staff messages, menu clicks and template-card taps (always encrypted).

GET is the URL verification: the echostr is encrypted and must be answered decrypted. POST carries an
encrypted message whose msg_signature covers it; a message for another corp id or agent is refused.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.wechat.callback import CallbackCore, signature_ok
from bot.wechat.chats import CardStore
from bot.wechat.oa import bad_request, forbidden, read_body
from bot.wechat.xmlmsg import XmlError, parse_xml

log = logging.getLogger(__name__)
PATH = "/wechat/work"


class WorkCallback:
    """The Starlette endpoint for one WeCom self-built app."""

    def __init__(
        self, core: CallbackCore, cards: CardStore, token: str, aes_key: str, corp_id: str, agent_id: int
    ) -> None:
        self.core = core
        self.cards = cards
        self.token = token
        self.agent_id = agent_id
        self.crypto = WeChatCrypto(token, aes_key, corp_id)

    async def endpoint(self, request: Request) -> Response:
        """GET: URL verification; POST: one message or event."""
        q = request.query_params
        timestamp, nonce, given = q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature", "")
        if not (timestamp and nonce and given):
            return forbidden("wecom: missing signature")
        if request.method == "GET":
            echo = q.get("echostr", "")
            if not signature_ok((self.token, timestamp, nonce, echo), given):
                return forbidden("wecom: wrong signature")
            try:
                return PlainTextResponse(self.crypto.check_signature(given, timestamp, nonce, echo))
            except (InvalidSignatureException, InvalidCorpIdException):
                return forbidden("wecom: echostr for another corp")
            except Exception as exc:
                return bad_request(f"wecom: cannot decrypt echostr: {type(exc).__name__}")
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            encrypted = parse_xml(body).get("Encrypt", "")
        except XmlError as exc:
            if not signature_ok((self.token, timestamp, nonce), given):
                return forbidden("wecom: wrong signature")
            return bad_request(str(exc))
        if not signature_ok((self.token, timestamp, nonce, encrypted), given):
            return forbidden("wecom: wrong signature")
        if self.core.stale(timestamp):
            return forbidden("wecom: timestamp too old or in the future")
        if await self.core.replayed(timestamp, nonce):
            log.warning("wecom callback replayed (timestamp %s, nonce %s): ignored", timestamp, nonce)
            return PlainTextResponse("")
        try:
            msg = parse_xml(self.crypto.decrypt_message({"Encrypt": encrypted}, given, timestamp, nonce))
        except (InvalidSignatureException, InvalidCorpIdException):
            return forbidden("wecom: encrypted for another corp id")
        except XmlError as exc:
            return bad_request(str(exc))
        except Exception as exc:
            return bad_request(f"wecom: cannot decrypt: {type(exc).__name__}")
        if not msg.get("MsgType") or not msg.get("FromUserName"):
            return bad_request("wecom: no MsgType or FromUserName")
        agent = msg.get("AgentID", "")
        if agent and agent != str(self.agent_id):
            log.warning("wecom callback for agent %s, we are %s: ignored", agent, self.agent_id)
            return PlainTextResponse("")
        if msg.get("Event", "").lower() == "template_card_event":
            # The tap brings a fresh code for updating this member's copy of the card.
            await self.cards.clicked(msg.get("TaskId", ""), msg.get("ResponseCode", ""))
        await self.core.handle(msg)
        return PlainTextResponse("")
