"""The callback endpoints refuse what isn't provably WeChat's, and never crash on what they can't read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.wechat.xmlmsg import to_xml
from dispatch.clock import FakeClock
from storage.models import InboundEvent, OutboxMessage, Ticket
from tests.fakes.wechat_push import OAPusher, WorkPusher, nonce, sign
from tests.fakes.wechat_server import FakeWeChatServer
from tests.support.wxbot import OA_AES_KEY, OA_TOKEN, WORK_AES_KEY, WORK_TOKEN, WxBot, settings_for

U = "oia2TjjewbmiOUlr6X-1crbLOvLw"
ZH_UNSUPPORTED = "只能接收文字、图片和位置"


async def counts(bot: WxBot) -> tuple[int, int]:
    """(inbound events recorded, outbox rows): both stay put when a request is refused."""
    assert bot.app is not None
    async with bot.app.db.transaction() as session:
        events = (
            await session.execute(
                select(func.count()).select_from(InboundEvent).where(~InboundEvent.channel.like("%#nonce"))
            )
        ).scalar_one()
        rows = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    return int(events), int(rows)


def message(bot: WxBot, text: str = "你好", user: str = U) -> str:
    return to_xml(bot.oa.fields(user, "text", Content=text))


async def test_url_verification_answers_echostr_only_when_signed(wxlite: WxBot) -> None:
    ok = await wxlite.oa.verify("echo-123")
    assert (ok.status_code, ok.text) == (200, "echo-123")
    ts, n = wxlite.oa.timestamp(), nonce()
    wrong = await wxlite.http.get(  # type: ignore[union-attr]
        "/wechat/oa",
        params={"signature": sign("other-token", ts, n), "timestamp": ts, "nonce": n, "echostr": "x"},
    )
    missing = await wxlite.http.get("/wechat/oa", params={"echostr": "x"})  # type: ignore[union-attr]
    assert wrong.status_code == missing.status_code == 403
    assert "x" not in wrong.text
    work = await wxlite.work.verify("9873465123")
    assert (work.status_code, work.text) == (200, "9873465123")


async def test_wrong_or_missing_signatures_are_refused_and_nothing_is_processed(wxlite: WxBot) -> None:
    oa = wxlite.oa
    before = await counts(wxlite)
    assert (await oa.post(message(wxlite), signature="0" * 40)).status_code == 403
    assert (await oa.post(message(wxlite), signature="")).status_code == 403
    # Right plain signature, wrong msg_signature over the encrypted body.
    ts, n = oa.timestamp(), nonce()
    assert oa.crypto is not None
    sealed = oa.crypto.encrypt_message(message(wxlite), n, ts)
    response = await wxlite.http.post(  # type: ignore[union-attr]
        "/wechat/oa",
        params={
            "signature": sign(OA_TOKEN, ts, n),
            "timestamp": ts,
            "nonce": n,
            "encrypt_type": "aes",
            "msg_signature": "1" * 40,
        },
        content=sealed.encode(),
    )
    assert response.status_code == 403
    # In safe mode a plain body is covered by no signature: refused.
    assert (await oa.post(message(wxlite), encrypt=False)).status_code == 403
    # WeCom: a body signed with another token.
    other = WorkPusher(
        wxlite.http,
        None,
        wxlite.clock.now,
        token="someone-else",
        aes_key=WORK_AES_KEY,  # type: ignore[arg-type]
        corp_id=wxlite.server.corp_id,
        agent_id=wxlite.server.agent_id,
    )
    assert (await other.text("zhangsan", "/onduty")).status_code == 403
    assert await counts(wxlite) == before
    assert wxlite.server.sent == []


async def test_a_replayed_request_is_ignored(wxbot: WxBot) -> None:
    ts, n = wxbot.oa.timestamp(), nonce()
    xml = message(wxbot, "/help")
    wxbot.server.user_active(U)
    first = await wxbot.oa.post(xml, timestamp=ts, nonce_=n)
    await wxbot.server.wait_for(lambda: len(wxbot.server.sent_to(U)) == 1)
    assert (first.status_code, first.text) == (200, "success")
    for _ in range(2):
        replay = await wxbot.oa.post(xml, timestamp=ts, nonce_=n)
        assert (replay.status_code, replay.text) == (200, "success")
    # A captured request replayed later, with its old timestamp: refused outright.
    wxbot.clock.advance(timedelta(minutes=10))
    late = await wxbot.oa.post(message(wxbot, "/mytickets"), timestamp=ts)
    assert late.status_code == 403
    await wxbot.tick(0)
    assert len(wxbot.server.sent_to(U)) == 1


async def test_a_message_encrypted_for_another_app_id_is_refused(wxlite: WxBot) -> None:
    before = await counts(wxlite)
    stranger = WeChatCrypto(OA_TOKEN, OA_AES_KEY, "wx0123456789abcdef")
    response = await wxlite.oa.post(message(wxlite), crypto=stranger)
    assert response.status_code == 403
    corp = WorkPusher(
        wxlite.http,
        None,
        wxlite.clock.now,
        token=WORK_TOKEN,
        aes_key=WORK_AES_KEY,  # type: ignore[arg-type]
        corp_id="ww0000000000000000",
        agent_id=wxlite.server.agent_id,
    )
    corp.crypto = WorkCrypto(WORK_TOKEN, WORK_AES_KEY, "ww0000000000000000")
    assert (await corp.text("zhangsan", "hi")).status_code == 403
    assert await counts(wxlite) == before


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh</ToUserName><Content>unclosed",
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
        "<html><body>hello</body></html>",
        "",
        "\xff\xfe garbage",
    ],
)
async def test_malformed_xml_is_refused_politely(wxlite: WxBot, body: str) -> None:
    before = await counts(wxlite)
    response = await wxlite.oa.post(body, encrypt=False)
    assert response.status_code in (400, 403)
    # Encrypted garbage: a valid envelope around a ciphertext that isn't one.
    ts, n = wxlite.oa.timestamp(), nonce()
    junk = "bm90IGEgY2lwaGVydGV4dA=="
    response = await wxlite.http.post(  # type: ignore[union-attr]
        "/wechat/oa",
        params={
            "signature": sign(OA_TOKEN, ts, n),
            "timestamp": ts,
            "nonce": n,
            "encrypt_type": "aes",
            "msg_signature": sign(OA_TOKEN, ts, n, junk),
        },
        content=to_xml({"ToUserName": "gh", "Encrypt": junk}).encode(),
    )
    assert response.status_code == 400
    # A signed, encrypted message that decrypts to something that isn't a WeChat message.
    assert (await wxlite.oa.post("<xml><Hello>there</Hello></xml>")).status_code == 400
    assert await counts(wxlite) == before
    # Still alive and well.
    ok = await wxlite.oa.text(U, "/help")
    assert (ok.status_code, ok.text) == (200, "success")


async def test_plain_mode_account(
    wx_server: FakeWeChatServer, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    bot = WxBot(wx_server, settings_for(wx_server, db_url, tmp_path / "media", safe_mode=False), clock)
    await bot.start()
    try:
        assert bot.oa.crypto is None
        reply = await bot.say(U, "/help", expect="")
        assert "/repair" in reply.shown
        assert (await bot.oa.post(message(bot), signature="0" * 40)).status_code == 403
        assert (
            await bot.oa.post(message(bot, "x"), crypto=WeChatCrypto(OA_TOKEN, OA_AES_KEY, wx_server.app_id))
        ).status_code == 400  # encrypted, but we have no key to read it
    finally:
        await bot.stop()


async def test_unknown_message_types_get_a_polite_answer_once(wxbot: WxBot) -> None:
    video = to_xml(wxbot.oa.fields(U, "video", MediaId="v1", ThumbMediaId="t1"))
    wxbot.server.user_active(U)
    for _ in range(3):  # WeChat's retries of the same MsgId, each with a fresh nonce
        assert (await wxbot.oa.post(video)).status_code == 200
    answer = await wxbot.server.wait_for_message(U, ZH_UNSUPPORTED)
    for count, (msg_type, extra) in enumerate(
        (("link", {"Title": "t", "Url": "https://example.com"}), ("shortvideo", {"MediaId": "s"})), 2
    ):
        # One at a time: answers due together for one resident would go as one message (quota).
        await wxbot.oa.send(U, msg_type, **extra)
        await wxbot.server.wait_for(lambda n=count: len(wxbot.server.sent_to(U)) == n)  # type: ignore[misc]
    await wxbot.tick(0)
    assert [s.shown for s in wxbot.server.sent_to(U)].count(answer.shown) == 3
    # Events the bot has nothing to say about are answered "success" and ignored.
    assert (await wxbot.oa.event(U, "VIEW", "https://example.com")).text == "success"
    assert (await wxbot.oa.event(U, "unsubscribe")).text == "success"
    await wxbot.tick(0)
    assert len(wxbot.server.sent_to(U)) == 3


async def test_body_too_large_and_wecom_other_agent(wxlite: WxBot) -> None:
    big = await wxlite.oa.post(
        "<xml><Content>" + "x" * (1024 * 1024 + 10) + "</Content></xml>", encrypt=False
    )
    assert big.status_code == 413
    before = await counts(wxlite)
    other_agent = WorkPusher(
        wxlite.http,
        None,
        wxlite.clock.now,
        token=WORK_TOKEN,
        aes_key=WORK_AES_KEY,  # type: ignore[arg-type]
        corp_id=wxlite.server.corp_id,
        agent_id=999,
    )
    assert (await other_agent.text("zhangsan", "/onduty")).status_code == 200
    assert await counts(wxlite) == before


async def test_repeated_deliveries_of_a_message_have_one_effect(wxbot: WxBot) -> None:
    """WeChat tries up to three times; the same MsgId (any nonce) is handled once."""
    xml = message(wxbot, "/mytickets")
    wxbot.server.user_active(U)
    for _ in range(3):
        response = await wxbot.oa.post(xml)
        assert (response.status_code, response.text) == (200, "success")
    # Answered before the click comes: two answers due together would go as one message (quota).
    await wxbot.server.wait_for(lambda: len(wxbot.server.sent_to(U)) == 1)
    click = to_xml(wxbot.oa.fields(U, "event", Event="CLICK", EventKey="office"))
    for _ in range(3):
        assert (await wxbot.oa.post(click)).text == "success"
    await wxbot.server.wait_for(lambda: len(wxbot.server.sent_to(U)) == 2)
    await wxbot.tick(0)
    assert len(wxbot.server.sent_to(U)) == 2
    assert wxbot.app is not None
    async with wxbot.app.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0


async def test_other_paths_and_methods(wxlite: WxBot) -> None:
    assert wxlite.http is not None
    assert (await wxlite.http.put("/wechat/oa")).status_code == 405
    assert (await wxlite.http.get("/healthz")).status_code == 200


def test_pusher_sanity() -> None:
    assert isinstance(OAPusher.path, str)
