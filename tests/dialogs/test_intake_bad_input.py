"""Every bad input during intake gets a clear, polite answer and loses nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.messages import Kind
from storage.models import Conversation, Ticket
from tests.support.harness import Harness
from tests.support.media import jpeg

U = "2001"


async def to_step(h: Harness, step: str) -> None:
    """Walk the dialog up to a named step."""
    await h.say(U, "报修")
    if step == "address":
        return
    await h.tap(U, "My home")
    await h.tap(U, "Building 1")
    await h.tap(U, "Unit 1")
    if step == "room":
        return
    await h.say(U, "1203")
    if step == "phone":
        return
    await h.say(U, "13812345678")
    if step == "description":
        return
    await h.say(U, "卧室插座没电了")
    if "check" in h.last(U).text:
        await h.tap(U, "still need")
    await h.tap(U, "Yes")
    assert step == "photos"


async def draft(h: Harness) -> dict[str, object]:
    async with h.db.transaction() as s:
        conv = (await s.execute(select(Conversation).where(Conversation.chat_id == U))).scalar_one()
        return dict(conv.data.get("draft", {}))


async def step(h: Harness) -> str:
    async with h.db.transaction() as s:
        return (await s.execute(select(Conversation.step).where(Conversation.chat_id == U))).scalar_one()


async def test_room_not_in_site_file(harness: Harness) -> None:
    await to_step(harness, "room")
    replies = await harness.say(U, "9999")
    assert "no room “9999”" in replies[0].text
    assert await step(harness) == "room"
    await harness.say(U, "１２０３室")  # full-width digits and a 室 suffix are fine
    assert (await draft(harness))["room"] == "1203"


async def test_phone_that_isnt_one(harness: Harness) -> None:
    await to_step(harness, "phone")
    for bad in ("12345", "call me maybe", "+86 138 1234", "x" * 5000):
        replies = await harness.say(U, bad)
        assert "doesn't look like a phone number" in replies[0].text
    assert await step(harness) == "phone"
    await harness.send(U, Kind.CONTACT, phone="+8613912345678", contact_is_own=True)
    assert (await draft(harness))["phone"] == "13912345678"


async def test_descriptions_empty_whitespace_and_huge(harness: Harness) -> None:
    await to_step(harness, "description")
    for bad in ("   ", "\n\t", "a"):
        replies = await harness.say(U, bad)
        assert "describe the problem" in replies[0].text
    for emoji in ("🙏🙏🙏", "😭？！", "……", "👍"):
        replies = await harness.say(U, emoji)
        assert "Emoji and punctuation alone" in replies[0].text
    replies = await harness.say(U, "漏" * 5000)
    assert "5000 characters" in replies[0].text and "1000" in replies[0].text
    assert await step(harness) == "description"
    await harness.send(U, Kind.VOICE, voice_ref="voice-1")
    assert "Voice message attached" in harness.last(U).text
    await harness.photo(U, jpeg())
    assert "Photo kept" in harness.last(U).text
    await harness.say(U, "阳台水管漏水")
    saved = await draft(harness)
    assert saved["voice_ref"] == "voice-1" and len(saved["photos"]) == 1  # type: ignore[arg-type]


async def test_photo_step_takes_nine_and_refuses_the_rest(harness: Harness) -> None:
    await to_step(harness, "photos")
    await harness.say(U, "here is the photo")
    assert "Please send a photo" in harness.delivery.chat(U)[-2].text
    replies = await harness.photo(U, b"GIF89a not really")
    assert "isn't a picture" in replies[0].text
    replies = await harness.photo(U, None, problem="too_large")
    assert "too large" in replies[0].text
    await harness.send(U, Kind.STICKER)
    assert "Stickers" in harness.delivery.chat(U)[-2].text
    await harness.send(U, Kind.DOCUMENT)
    assert "as a photo, not as a file" in harness.delivery.chat(U)[-2].text
    for i in range(9):
        await harness.photo(U, jpeg(color=(i * 20, 10, 10)))
    assert "most one request can take" in harness.last(U).text
    replies = await harness.photo(U, jpeg(color=(250, 250, 250)))
    assert "already sent 9 photos" in replies[0].text
    assert len((await draft(harness))["photos"]) == 9  # type: ignore[arg-type]
    assert await step(harness) == "photos"


async def test_text_where_a_choice_is_expected_and_choice_by_label(harness: Harness) -> None:
    await to_step(harness, "address")
    replies = await harness.say(U, "whatever")
    assert "choose one of the options" in replies[0].text
    await harness.say(U, "public area (lobby, lift, garage, garden…)")  # the label typed out works too
    assert await step(harness) == "public_place"


async def test_a_finished_dialogs_buttons_are_stale(harness: Harness) -> None:
    await to_step(harness, "address")
    old = harness.find_choice(U, "My home").data
    await harness.say(U, "/cancel")
    replies = await harness.tap_data(U, old)
    assert "already finished" in replies[-1].text
    assert harness.delivery.answers[-1][1] == "That button is from an earlier step."
    async with harness.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0


async def test_group_chat_gets_a_private_link_and_no_questions(harness: Harness) -> None:
    harness.services.deep_links["test"] = lambda payload: f"https://t.me/bot?start={payload}"
    replies = await harness.say(U, "报修", chat_id="-500", chat_type="group")
    assert len(replies) == 1 and "privately" in replies[0].text and "start=repair" in replies[0].text
    assert await harness.say(U, "hello everyone", chat_id="-500", chat_type="group") == []


async def test_unknown_command_and_edits(harness: Harness) -> None:
    replies = await harness.say(U, "/frobnicate")
    assert "/help" in replies[0].text
    replies = await harness.send(U, Kind.EDITED, text="changed")
    assert "not edits" in replies[0].text
