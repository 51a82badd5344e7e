"""WeChat counts a text's size in bytes of UTF-8: long texts arrive whole, in parts that fit."""

from __future__ import annotations

from bot.wechat.text import TEXT_BYTES, chunks, cut_bytes, size
from tests.fakes.wechat_server import TEXT_BYTES as WECHAT_KEEPS
from tests.support.wechat_journeys import EN, RESIDENT, ZH, file_direct, offer_card
from tests.support.wxbot import WxBot

WANG = "wangwu"


def test_chunks_count_bytes_and_keep_every_character() -> None:
    text = "第一行\n" + "漏" * 700 + "\n最后一行"
    parts = chunks(text)
    assert all(size(part) <= TEXT_BYTES for part in parts) and len(parts) == 2
    assert parts[0].startswith("第一行\n漏") and "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert chunks("a\n\nb") == ["a\n\nb"] and chunks("") == [""]
    assert cut_bytes("漏水" * 10, 10) == "漏水…" and size(cut_bytes("漏" * 100, 50)) <= 50


async def test_a_700_character_description_reaches_the_wecom_technician_whole(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.add_staff("Wang", wecom=WANG)
    description = "厨房水槽下面的水管接口一直在滴水，" * 41 + "请带扳手"  # 701 characters, 2,103 bytes
    assert len(description) >= 690 and size(description) > WECHAT_KEEPS
    number = await file_direct(bot, description)
    card = await offer_card(bot, WANG, number)
    await bot.click(WANG, card, EN("✋ Accept"))
    head = EN("📋 Your job {headline}", headline=number)[:12]
    await bot.server.wait_for(
        lambda: "请带扳手" in "".join(bot.server.texts(WANG)), message="the end of the description"
    )
    texts = [s.text for s in bot.server.sent_to(WANG) if s.kind == "text"]
    start = next(i for i, text in enumerate(texts) if text.startswith(head))
    details = texts[start : start + 3]
    assert bot.server.truncated[WANG] == 0 and bot.server.dropped[WANG] == 0
    assert all(size(text) <= WECHAT_KEEPS for text in details)
    whole = "\n".join(details)
    assert description in whole.replace("\n", "")
    # What the visit needs comes before the resident's long words, in the first part.
    first = details[0]
    assert EN("Preferred time: {window}", window="")[:10] in first
    assert EN("Please contact the resident within {limit}.", limit="")[:20] in first
    assert first.index(EN("Address: {where}", where="")[:8]) < first.index(EN("Problem: {text}", text="")[:8])


async def test_wechat_words_fit_wechat_and_emoji_alone_is_no_description(wxbot: WxBot) -> None:
    bot = wxbot
    await bot.event(RESIDENT, "CLICK", "repair", expect=ZH("Where is the problem?"))
    await bot.choose(RESIDENT, ZH("Public area (lobby, lift, garage, garden…)"))
    await bot.say(RESIDENT, "2号楼东门")
    await bot.say(RESIDENT, "13912345678")
    refused = await bot.say(RESIDENT, "🙏🙏😭")
    assert refused.shown == ZH(
        "Thank you! Emoji and punctuation alone don't tell the technician what is wrong. "
        "Please describe the problem in a few words, for example “kitchen tap leaking”."
    )
    asked = await bot.say(RESIDENT, "东门旁边的水管漏水了")
    assert asked.labels  # the next question, with its choices
    await bot.say(RESIDENT, "随便说点什么")  # text where a choice is expected
    # Nothing told the resident of buttons "below": the choices are menu lines or numbered lines above.
    below = ("点击下方", "在下方", "下方按钮", "below")
    assert not any(word in text for text in bot.server.texts(RESIDENT) for word in below)
