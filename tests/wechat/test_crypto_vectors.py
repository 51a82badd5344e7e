"""Signatures and message crypto against Tencent's published WXBizMsgCrypt samples, through our endpoints.

Official Account sample: Tencent's WXBizMsgCrypt sample (token "spamtest", EncodingAESKey
"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", AppID wx2c2769f8efd9abc2, msg_signature
5d197aaffba7e9b25a30732f161a50dee96bd5fa). WeCom sample: Tencent's Sample.py for 企业微信 (token
hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo, corp ww1436e0e65a779aee: VerifyURL and DecryptMsg). wechatpy's own test
vectors for the plain signature and for WeCom crypto. Each sample is posted to our callback with our clock
set to the sample's time, so freshness checks pass and the message is really handled.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.app import App, build_app
from bot.settings import load_settings
from bot.wechat.callback import signature, signature_ok
from bot.wechat.channel import WeChatChannel
from bot.wechat.xmlmsg import parse_xml, to_xml
from dispatch.clock import FakeClock
from storage.models import InboundEvent, OutboxMessage
from tests.fakes.wechat_push import sign
from tests.support.webclient import web_client

OA_SAMPLE = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "xml": (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzS"
        "IWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Con"
        "tent><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd"
        "6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXp"
        "bUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VT"
        "jg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
        "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVW"
        "QLCzpu9GhglF2PE=]]></Encrypt></xml>"
    ),
}
WORK_SAMPLE = {
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "corp_id": "ww1436e0e65a779aee",
    "agent_id": 1000002,
    "verify": {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
        "answer": "1288432023552776189",
    },
    "message": {
        "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
        "timestamp": "1476422779",
        "nonce": "1597212914",
        "xml": (
            "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtr"
            "HjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq7"
            "2Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH"
            "4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjay"
            "JOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[10"
            "00002]]></AgentID>\n</xml>"
        ),
    },
}


def at(timestamp: str) -> FakeClock:
    """Our clock set to a sample's moment."""
    return FakeClock(datetime.fromtimestamp(int(timestamp), UTC))


async def _bot(tmp_path: Path, clock: FakeClock, **settings: Any) -> tuple[App, httpx.AsyncClient]:
    app = build_app(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'vectors.db'}",
            baoxiu_media_dir=tmp_path / "media",
            wechat_api_base_url="http://127.0.0.1:9/cgi-bin/",
            wecom_api_base_url="http://127.0.0.1:9/cgi-bin/",
            **settings,
        ),
        clock=clock,
    )
    await app.start()
    WeChatChannel.of(app)
    client = web_client(app)
    return app, client


@pytest.fixture
async def oa_sample_bot(tmp_path: Path) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """A bot configured exactly as Tencent's Official Account sample, at the sample's time."""
    s = OA_SAMPLE
    app, client = await _bot(
        tmp_path,
        at(s["timestamp"]),
        wechat_app_id=s["app_id"],
        wechat_app_secret="unused",
        wechat_token=s["token"],
        wechat_aes_key=s["aes_key"],
    )
    yield app, client
    await client.aclose()
    await app.close()


@pytest.fixture
async def work_sample_bot(tmp_path: Path) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """A bot configured exactly as Tencent's WeCom sample, at the sample message's time."""
    s = WORK_SAMPLE
    app, client = await _bot(
        tmp_path,
        at(s["message"]["timestamp"]),  # type: ignore[index]
        wecom_corp_id=s["corp_id"],
        wecom_agent_id=s["agent_id"],
        wecom_secret="unused",
        wecom_token=s["token"],
        wecom_aes_key=s["aes_key"],
    )
    yield app, client
    await client.aclose()
    await app.close()


async def _rows(app: App) -> tuple[list[InboundEvent], list[OutboxMessage]]:
    async with app.db.transaction() as session:
        events = list((await session.execute(select(InboundEvent))).scalars())
        outbox = list((await session.execute(select(OutboxMessage))).scalars())
    return events, outbox


# ----- the published vectors themselves -------------------------------------------------------------


def test_plain_signature_matches_wechatpys_published_vector() -> None:
    # wechatpy tests/test_utils.py: token "test", timestamp 1410685589, nonce "test".
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert signature_ok(("test", "1410685589", "test"), "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff")
    assert not signature_ok(("test", "1410685589", "test"), "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe")
    assert not signature_ok(("test", "1410685589", "test"), "")


def test_tencent_official_account_sample_decrypts() -> None:
    s = OA_SAMPLE
    crypto = WeChatCrypto(s["token"], s["aes_key"], s["app_id"])
    encrypted = parse_xml(s["xml"])["Encrypt"]
    assert signature(s["token"], s["timestamp"], s["nonce"], encrypted) == s["msg_signature"]
    plain = parse_xml(
        crypto.decrypt_message({"Encrypt": encrypted}, s["msg_signature"], s["timestamp"], s["nonce"])
    )
    assert plain["Content"] == "abcdteT" and plain["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert plain["MsgId"] == "6054768590064713728"
    with pytest.raises(InvalidAppIdException):
        WeChatCrypto(s["token"], s["aes_key"], "wx0000000000000000").decrypt_message(
            {"Encrypt": encrypted}, s["msg_signature"], s["timestamp"], s["nonce"]
        )


def test_tencent_wecom_sample_verifies_and_decrypts() -> None:
    s, v, m = WORK_SAMPLE, WORK_SAMPLE["verify"], WORK_SAMPLE["message"]
    crypto = WorkCrypto(s["token"], s["aes_key"], s["corp_id"])
    assert crypto.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"]) == v["answer"]  # type: ignore[index]
    plain = parse_xml(crypto.decrypt_message(m["xml"], m["msg_signature"], m["timestamp"], m["nonce"]))  # type: ignore[index]
    assert plain == {
        "ToUserName": "ww1436e0e65a779aee",
        "FromUserName": "ChenJiaShun",
        "CreateTime": "1476422779",
        "MsgType": "text",
        "Content": "你好",
        "MsgId": "1456453720",
        "AgentID": "1000002",
    }


def test_wechatpys_wecom_vectors() -> None:
    # wechatpy tests/test_crypto.py (WeCom): token 123456, corp wx49f0ab532d5d035a.
    crypto = WorkCrypto("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
    echo = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
    crypto.check_signature("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", echo)
    with pytest.raises(InvalidSignatureException):
        crypto.check_signature("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", echo)
    xml = (
        "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86io"
        "RjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7"
        "rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1y"
        "CF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6"
        "NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n"
        "<AgentID><![CDATA[1]]></AgentID>\n</xml>"
    )
    plain = parse_xml(
        crypto.decrypt_message(xml, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294")
    )
    assert plain["Content"] == "test" and plain["FromUserName"] == "messense"


@pytest.mark.parametrize("kind", ["oa", "wecom"])
def test_round_trip_with_our_own_keys(kind: str) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    token, app_id = secrets.token_hex(8), "wx" + secrets.token_hex(8)
    crypto = WeChatCrypto(token, key, app_id) if kind == "oa" else WorkCrypto(token, key, app_id)
    message = to_xml(
        {"FromUserName": "o" + secrets.token_hex(13), "MsgType": "text", "Content": "水管漏水了 <&> ]]>"}
    )
    sealed = parse_xml(crypto.encrypt_message(message, "123456", "1700000000"))
    assert signature(token, "1700000000", "123456", sealed["Encrypt"]) == sealed["MsgSignature"]
    back = crypto.decrypt_message(
        {"Encrypt": sealed["Encrypt"]}, sealed["MsgSignature"], "1700000000", "123456"
    )
    assert parse_xml(back)["Content"] == "水管漏水了 <&> ]]>"
    other = (
        WeChatCrypto(token, key, "wx" + secrets.token_hex(8))
        if kind == "oa"
        else WorkCrypto(token, key, "ww1")
    )
    with pytest.raises(Exception) as refused:
        other.decrypt_message({"Encrypt": sealed["Encrypt"]}, sealed["MsgSignature"], "1700000000", "123456")
    assert type(refused.value).__name__ in ("InvalidAppIdException", "InvalidCorpIdException")


# ----- the samples through our endpoints --------------------------------------------------------------


async def test_official_account_sample_is_handled_by_our_callback(
    oa_sample_bot: tuple[App, httpx.AsyncClient],
) -> None:
    app, client = oa_sample_bot
    s = OA_SAMPLE
    params = {
        "signature": sign(s["token"], s["timestamp"], s["nonce"]),
        "timestamp": s["timestamp"],
        "nonce": s["nonce"],
        "openid": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        "encrypt_type": "aes",
        "msg_signature": s["msg_signature"],
    }
    response = await client.post("/wechat/oa", params=params, content=s["xml"].encode())
    assert (response.status_code, response.text) == (200, "success")
    events, outbox = await _rows(app)
    assert [e.event_id for e in events if e.channel == "wechat"] == ["m6054768590064713728"]
    assert {(m.channel, m.chat_id) for m in outbox} == {("wechat", "oyORnuP8q7ou2gfYjqLzSIWZf0rs")}
    # The same request again is a replay: answered, not handled twice.
    again = await client.post("/wechat/oa", params=params, content=s["xml"].encode())
    assert (again.status_code, again.text) == (200, "success")
    assert len((await _rows(app))[1]) == len(outbox)
    # URL verification of the same account: the echostr comes back as it is.
    ts, nonce = s["timestamp"], "98765"
    verify = await client.get(
        "/wechat/oa",
        params={
            "signature": sign(s["token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "5837397520",
        },
    )
    assert (verify.status_code, verify.text) == (200, "5837397520")


async def test_wecom_sample_url_verification_and_message_through_our_callback(
    work_sample_bot: tuple[App, httpx.AsyncClient],
) -> None:
    app, client = work_sample_bot
    v, m = WORK_SAMPLE["verify"], WORK_SAMPLE["message"]
    verify = await client.get(
        "/wechat/work",
        params={k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")},  # type: ignore[index]
    )
    assert (verify.status_code, verify.text) == (200, v["answer"])  # type: ignore[index]
    wrong = dict(v, nonce="47744684")  # type: ignore[arg-type]
    refused = await client.get(
        "/wechat/work", params={k: wrong[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
    )
    assert refused.status_code == 403
    params = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}  # type: ignore[index]
    response = await client.post("/wechat/work", params=params, content=m["xml"].encode())  # type: ignore[index]
    assert response.status_code == 200
    events, outbox = await _rows(app)
    assert [e.event_id for e in events if e.channel == "wecom"] == ["m1456453720"]
    assert {(o.channel, o.chat_id) for o in outbox} == {("wecom", "ChenJiaShun")}
