"""Consent: the privacy notice comes with the first question, once per version; refusing keeps nothing."""

from __future__ import annotations

from sqlalchemy import select, update

from dispatch.site import load_site
from dispatch.site.model import Privacy
from storage.models import ChannelIdentity, Person
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff

NOTICE = "Before we start"


async def person(h: Harness, user: str) -> Person | None:
    async with h.db.transaction() as s:
        stmt = select(Person).join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
        return (await s.execute(stmt.where(ChannelIdentity.chat_id == user))).scalars().first()


async def test_the_notice_comes_once_with_the_first_question_and_its_answer_is_recorded(
    harness: Harness,
) -> None:
    h = harness
    await h.say("r1", "报修")
    first = h.last("r1")
    assert NOTICE in first.text and "/forgetme" in first.text and "Where is the problem?" in first.text
    assert "🚫 I don't agree" in first.labels() and "My home (building, unit, room)" in first.labels()
    agreed = await person(h, "r1")
    assert agreed is not None and agreed.consent_at is None
    await h.tap("r1", "My home")
    agreed = await person(h, "r1")
    current = h.services.site.default.privacy.current
    assert agreed is not None and agreed.consent_version == current and agreed.consent_at == h.clock.now()
    await h.say("r1", "/cancel")
    await h.say("r1", "/repair")
    assert NOTICE not in h.last("r1").text and "🚫 I don't agree" not in h.last("r1").labels()
    # A new version of the office's words asks again, once.
    async with h.db.transaction() as s:
        await s.execute(update(Person).where(Person.id == agreed.id).values(consent_version="2025-01"))
    await h.say("r1", "/cancel")
    await h.say("r1", "/report")
    assert NOTICE in h.last("r1").text and "🚫 I don't agree" in h.last("r1").labels()
    await h.tap("r1", "Suggestion")
    await h.say("r1", "/cancel")
    await h.say("r1", "/report")
    assert NOTICE not in h.last("r1").text
    # Staff are not residents: no notice.
    await add_staff(h, "Zhang")
    await h.say("Zhang", "/repair")
    assert NOTICE not in h.last("Zhang").text


async def test_refusing_keeps_nothing_and_files_nothing(harness: Harness) -> None:
    h = harness
    await h.say("r2", "报修", name="王阿姨")
    await h.tap("r2", "I don't agree")
    assert "nothing about you was kept" in h.last("r2").text
    async with h.db.transaction() as s:
        names = (await s.execute(select(Person.name))).scalars().all()
        identities = (await s.execute(select(ChannelIdentity.chat_id))).scalars().all()
    assert "王阿姨" not in names and "r2" not in identities
    # A resident with requests keeps them; nothing new is taken.
    await file_ticket(h, "r3", photos=0)
    async with h.db.transaction() as s:
        await s.execute(update(Person).where(Person.consent_version != "").values(consent_version="old"))
    await h.say("r3", "/repair")
    await h.tap("r3", "I don't agree")
    assert "nothing new was taken" in h.last("r3").text
    assert await person(h, "r3") is not None


def test_the_version_follows_the_offices_words_unless_given() -> None:
    demo = load_site().default.privacy
    assert Privacy(text="我们只用于维修").current != Privacy(text="我们只用于维修和回访").current
    assert Privacy(text="a", version="2026-12").current == "2026-12"
    assert demo.current == Privacy().current
