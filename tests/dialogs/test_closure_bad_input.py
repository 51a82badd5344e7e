"""Bad input on a held job: other people's jobs, steps out of order, codes, quotes, ratings, stale cards."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Ticket, TicketEvent
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff
from tests.support.media import jpeg

R, T, OTHER, BOSS = "res", "Zhang", "Li", "Boss"


async def held(h: Harness) -> Ticket:
    await add_staff(h, T)
    await add_staff(h, OTHER)
    await add_staff(h, BOSS, "supervisor")
    await file_ticket(h, R, photos=0)
    await h.tap(T, "Accept")
    return await ticket(h)


async def ticket(h: Harness) -> Ticket:
    async with h.db.transaction() as s:
        return (await s.execute(select(Ticket))).scalar_one()


async def kinds(h: Harness) -> list[str]:
    async with h.db.transaction() as s:
        return [e.kind for e in (await s.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars()]


def card_data(h: Harness, label: str) -> str:
    return h.find_choice(T, label).data


async def test_someone_elses_job_card_is_refused(harness: Harness) -> None:
    h = harness
    await held(h)
    arrived = card_data(h, "Arrived")
    await h.tap_data(OTHER, arrived)
    assert h.delivery.answers[-1][1] == "Sorry, I couldn't read that button."
    await h.tap_data(R, arrived)
    assert h.delivery.answers[-1][1] == "Sorry, I couldn't read that button."
    await h.tap_data(T, "j:forged:complete")
    assert h.delivery.answers[-1][1] == "Sorry, I couldn't read that button."
    assert (await ticket(h)).status == "assigned"


async def test_complete_before_arrived_is_not_offered_and_a_forged_step_is_refused(harness: Harness) -> None:
    h = harness
    await held(h)
    card = h.find_choice(T, "Arrived")
    token = card.data.split(":")[1]
    assert "✅ Complete" not in [c.label for m in h.delivery.chat(T) for c in m.choices]
    await h.tap_data(T, f"j:{token}:complete")
    assert h.delivery.answers[-1][1] == "That step is no longer available."
    assert (await ticket(h)).status == "assigned"


async def test_wrong_code_five_times_tells_the_supervisor(harness: Harness) -> None:
    h = harness
    tk = await held(h)
    await h.tap(T, "Arrived")
    wrong = "1234" if tk.arrival_code != "1234" else "4321"
    for left in (4, 3, 2, 1):
        await h.say(T, wrong)
        assert f"{left} tries left" in h.last(T).text
    await h.say(T, wrong)
    assert "Too many wrong codes" in h.last(T).text
    assert "wrong verification code too many times" in h.last(BOSS).text
    assert "The technician is here" in [c.label for c in h.last(R).choices]
    await h.tap(T, "Arrived")
    await h.say(T, tk.arrival_code)  # locked: even the right code no longer counts
    assert "Too many wrong codes" in h.last(T).text
    assert (await ticket(h)).status == "assigned"
    await h.tap(R, "The technician is here")
    assert (await ticket(h)).status == "on_site"
    assert (await kinds(h)).count("wrong_code") == 5


async def test_absurd_quotes_are_refused_and_only_the_resident_may_approve(harness: Harness) -> None:
    h = harness
    tk = await held(h)
    await h.tap(T, "Arrived")
    await h.say(T, tk.arrival_code)
    await h.tap(T, "Quote")
    for bad, words in (
        ("tap -80", "not plausible"),
        ("tap 99999999", "not plausible"),
        ("tap", "couldn't read"),
        ("tap abc", "couldn't read"),
    ):
        await h.say(T, bad)
        assert words in h.last(T).text, bad
    await h.say(T, "New tap 80\nLabour 50")
    assert "Quote of ¥130 sent" in h.last(T).text
    approve = h.find_choice(R, "Approve").data
    await h.tap_data(OTHER, approve)
    assert h.delivery.answers[-1][1] == "Sorry, I couldn't read that button."
    await h.tap(R, "Decline")
    await h.tap(R, "Too expensive")
    assert "declined the quote" in h.last(T).text
    await h.tap_data(R, approve)
    assert "already answered" in h.last(R).text
    assert "quote_declined" in await kinds(h)


async def test_rating_outside_one_to_five_and_cancel_after_completion(harness: Harness) -> None:
    h = harness
    tk = await held(h)
    await h.tap(T, "Arrived")
    await h.say(T, tk.arrival_code)
    await h.tap(T, "Complete")
    await h.photo(T, jpeg())
    await h.tap(T, "Done")
    await h.tap(T, "None")
    await h.tap(T, "No, none")
    await h.tap(T, "30 min")
    await h.tap(T, "No charge")
    assert (await ticket(h)).status == "completed"
    fixed = h.find_choice(R, "Fixed").data
    token = fixed.split(":")[1]
    await h.tap_data(R, f"r:{token}:cx")  # a forged cancel after completion
    assert "no longer possible" in h.last(R).text and (await ticket(h)).status == "completed"
    await h.tap_data(R, fixed)
    await h.tap_data(R, f"r:{token}:rate:9")
    assert "isn't possible" in h.last(R).text or "not possible" in h.last(R).text
    await h.tap_data(R, f"r:{token}:rate:0")
    assert (await ticket(h)).rating is None
    await h.tap(R, "⭐⭐⭐ 3")
    assert (await ticket(h)).rating == 3 and (await ticket(h)).status == "closed"
    await h.tap_data(R, fixed)  # a button from a finished step
    assert "no longer possible" in h.last(R).text


async def test_a_stale_card_button_after_the_job_moved_on(harness: Harness) -> None:
    h = harness
    tk = await held(h)
    contacted = card_data(h, "Contacted")
    await h.tap(T, "Arrived")
    await h.say(T, tk.arrival_code)
    await h.tap_data(T, contacted)
    assert h.delivery.answers[-1][1] == "That step is no longer available."
    assert (await ticket(h)).status == "on_site"
