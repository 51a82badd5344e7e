"""Matters (报事) through the real router and outbox: routed, answered, forwarded, escalated, kept private."""

from __future__ import annotations

from datetime import timedelta

from dispatch.figures import Period, Scope, build
from handlers.timer_sweep import sweep_all
from tests.support.dialogs import file_ticket
from tests.support.harness import Harness, add_staff
from tests.support.matters import CHEN, LIU, ZHOU, events, file_matter, matter, office, pending

R = "resident"


async def test_a_complaint_is_routed_answered_confirmed_and_rated(harness: Harness) -> None:
    h = harness
    await office(h)
    number = await file_matter(h, R, "楼下邻居装修噪音太大，每天晚上十点以后还在施工")
    assert number.startswith("BS-")
    filed = h.last(R).text
    assert "Security" in filed and "4 hours" in filed  # security's own promise for complaints
    card = h.last(CHEN)
    assert number in card.text and "Complaint" in card.text and "Security" in card.text
    assert {"✋ Accept", "💬 Reply"} <= set(card.labels())
    assert not h.texts(ZHOU) and not h.texts(LIU)  # only the security department hears of it
    await h.tap(CHEN, "Accept")
    assert "has your " + number in h.last(R).text
    await h.tap(CHEN, "Reply")
    await h.say(CHEN, "我们已联系施工方，晚上十点后停止施工。")
    assert "晚上十点后停止施工" in h.last(R).text and h.last(R).labels() == ["💬 Answer"]
    assert await pending(h, number) == []  # accepted and answered: both deadlines met
    await h.tap(CHEN, "Handled")
    assert "Was it?" in h.last(R).text
    await h.tap(R, "Handled")
    await h.tap(R, "⭐⭐⭐⭐ 4")
    await h.tap(R, "Skip")
    stored = await matter(h, number)
    assert (stored.status, stored.rating, stored.fixed) == ("closed", 4, True)
    assert await events(h, number) == [
        "submitted",
        "accepted",
        "answered",
        "replied",
        "handled",
        "confirmed",
        "rated",
        "closed",
    ]


async def test_a_matter_forwarded_to_another_department_starts_again_there(harness: Harness) -> None:
    h = harness
    await office(h)
    number = await file_matter(h, R, "小区里垃圾桶周围很脏，有异味", kind="Suggestion")
    assert "Cleaning" in h.last(R).text
    await h.tap(CHEN, "Forward")
    await h.tap(CHEN, "Billing")
    await h.say(CHEN, "清运费用归收费处协调")
    stored = await matter(h, number)
    assert (stored.department, stored.status, stored.handler_id) == ("billing", "submitted", None)
    assert "passed to Billing" in h.last(R).text and "清运费用" in h.last(R).text
    assert number in h.last(ZHOU).text and "✋ Accept" in h.last(ZHOU).labels()
    await h.tap(ZHOU, "Accept")
    assert "客服小周 (Billing) has your" in h.last(R).text
    assert "forwarded" in await events(h, number)


async def test_nobody_accepts_the_manager_is_pinged_once_and_the_resident_told_honestly(
    harness: Harness,
) -> None:
    h = harness
    await office(h)
    number = await file_matter(h, R, "请问小区的快递柜什么时候能修好？", kind="Inquiry")
    # Customer service's promise: accept within 1 h, answer within 24 h.
    for _ in range(4):
        h.clock.advance(timedelta(minutes=30))
        await sweep_all(h.db, h.services)
        await h.flush()
    pings = [t for t in h.texts(LIU) if "accepted " + number + " in time" in t]
    assert len(pings) == 1
    h.clock.advance(timedelta(hours=23))
    await sweep_all(h.db, h.services)
    await h.flush()
    assert "not been answered within the time we promised" in h.last(R).text
    assert "was not answered within the promised time" in h.last(LIU).text
    assert await pending(h, number) == []


async def test_an_anonymous_resident_is_never_shown_to_staff(harness: Harness) -> None:
    h = harness
    await office(h)
    await file_ticket(h, R, photos=0)  # the resident's phone is known from an earlier repair
    number = await file_matter(h, R, "保安晚上在岗位上睡觉", anonymous=True)
    card = h.last(CHEN)
    assert "anonymous" in card.text and "13812345678" not in card.text
    await h.say(CHEN, f"/ticket {number}")
    record = h.last(CHEN).text
    assert number in record and "13812345678" not in record
    assert (await matter(h, number)).phone == ""
    await h.tap(CHEN, "Reply")
    await h.say(CHEN, "感谢反映，已加强夜间巡查。")
    assert "已加强夜间巡查" in h.last(R).text  # the bot still reaches the resident


async def test_a_complaint_about_a_technician_never_reaches_them(harness: Harness) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhang")
    await file_ticket(h, R, photos=0)
    await h.tap("Zhang", "Accept")
    seen_by_zhang = len(h.texts("Zhang"))
    number = await file_matter(h, R, "投诉上门维修的师傅服务态度很差，说话很不客气", about="Zhang")
    stored = await matter(h, number)
    assert stored.about_staff_id is not None and stored.department == "service"
    assert len(h.texts("Zhang")) == seen_by_zhang  # not a word to him
    assert "About a member of staff: Zhang" in h.last(ZHOU).text
    await h.say("Zhang", f"/ticket {number}")
    assert number not in h.last("Zhang").text
    assert not any(number in t for t in h.texts("Zhang"))


async def test_a_complaint_about_the_departments_own_supervisor_goes_to_the_manager(harness: Harness) -> None:
    h = harness
    await office(h)
    await h.say(R, "/report")
    await h.tap(R, "Complaint")
    await h.say(R, "客服小周 接电话的时候态度很差")
    await h.tap(R, "Yes, send it to")
    await h.tap(R, "Skip")
    await h.tap(R, "客服小周")  # named in the words, so offered first
    await h.tap(R, "Yes, show my name")
    await h.tap(R, "Send it")
    number = h.last(R).text.split("Number: ")[1].split()[0]
    assert not any(number in t for t in h.texts(ZHOU))
    assert number in h.last(LIU).text


async def test_bad_input_is_refused_politely_and_nothing_is_filed(harness: Harness) -> None:
    h = harness
    await office(h)
    await h.say(R, "/report")
    await h.tap(R, "Suggestion")
    await h.say(R, "👍👍👍")
    assert "in words" in h.last(R).text
    await h.say(R, "！！！")
    assert "in words" in h.last(R).text
    await h.say(R, "好" * 3000)
    assert "characters long" in h.last(R).text
    await h.tap_data(R, "c:stale1:0")
    assert h.delivery.answers[-1][1] == "That button is from an earlier step."
    await h.say(R, "/cancel")
    assert h.last(R).text == "Cancelled. Nothing was filed."
    assert not [t for t in h.texts(CHEN) + h.texts(ZHOU) + h.texts(LIU) if "BS-" in t]


async def test_out_of_scope_is_explained_with_where_to_go(harness: Harness) -> None:
    h = harness
    await office(h)
    await h.say(R, "/report")
    await h.tap(R, "Complaint")
    await h.say(R, "和楼上的邻居纠纷越来越严重了，怎么办")
    assert "residents' committee" in h.last(R).text
    await h.tap(R, "OK, thank you")
    assert "nothing was filed" in h.last(R).text
    assert not [t for t in h.texts(CHEN) + h.texts(ZHOU) if "BS-" in t]


async def test_a_repair_filed_as_a_matter_goes_to_the_technicians(harness: Harness) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhang")
    number = await file_matter(h, R, "请问楼道的灯不亮了能不能修一下", kind="Inquiry")
    assert "Customer service" in h.last(R).text
    await h.tap(ZHOU, "It's a repair")
    await h.tap(ZHOU, "Yes, it's a repair")
    stored = await matter(h, number)
    assert (stored.kind, stored.status, stored.category) == ("repair", "offered", "plumbing")
    assert "gone to our technicians" in h.last(R).text
    assert f"New job {number}" in h.last("Zhang").text and "Accept" in h.last("Zhang").labels()[0]
    assert await events(h, number) == ["submitted", "converted", "offered"]


async def test_a_matter_filed_as_a_repair_is_converted_by_staff(harness: Harness) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhang")
    filed = await file_ticket(h, R, photos=0)
    number = filed.split("Number: ")[1].split()[0]
    offer = h.last("Zhang")
    await h.say(CHEN, f"/convert {number}")
    await h.tap(CHEN, "Suggestion")
    await h.tap(CHEN, "Gardens")
    stored = await matter(h, number)
    assert (stored.kind, stored.department, stored.status) == ("matter", "greening", "submitted")
    assert "gone to Gardens" in h.last(R).text
    assert offer.text == f"{number} was cancelled." and not offer.choices  # the offer edited in place
    assert await events(h, number) == ["submitted", "offered", "withdrawn", "converted"]
    assert number in h.last(CHEN).text and "Suggestion" in h.last(CHEN).text


async def test_the_departments_group_sees_matters_without_names_but_never_a_complaint_about_staff(
    harness: Harness,
) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhang")
    await h.say(CHEN, "/bindgroup department security", chat_id="grp", chat_type="group")
    assert "Security's matters" in h.delivery.chat("grp")[-1].text
    await file_ticket(h, R, photos=0)  # name and phone known
    number = await file_matter(h, R, "小区门口总有人乱停车，堵住消防通道")
    posted = h.delivery.chat("grp")[-1]
    # A group has no one reader: it reads the office's language (Chinese here).
    assert number in posted.text and "13812345678" not in posted.text and "来自：一位业主" in posted.text
    assert posted.labels() == ["✋ 抢单"]
    # A resident in the group taps Accept: only they hear no; nothing is said in the group.
    before = len(h.delivery.chat("grp"))
    await h.tap_data(R, posted.choices[0].data, chat_id="grp", chat_type="group")
    assert h.delivery.answers[-1][1] == "That matter is not yours to handle."
    assert len(h.delivery.chat("grp")) == before
    await h.tap_data(CHEN, posted.choices[0].data, chat_id="grp", chat_type="group")
    assert (await matter(h, number)).status == "assigned"
    # A complaint about a member of staff never goes to a group where they might read it.
    await h.tap("Zhang", "Accept")
    await file_matter(h, R, "投诉：保安和维修师傅都很不客气，乱停车也不管", about="Zhang")
    assert not any("BS-" in m.text and "Zhang" in m.text for m in h.delivery.chat("grp"))


async def test_matters_stay_out_of_the_repair_queue_and_show_as_overdue_to_their_department(
    harness: Harness,
) -> None:
    h = harness
    await office(h)
    number = await file_matter(h, R, "地下车库总有外来车辆乱停")  # security: accept within 30 min
    h.clock.advance(timedelta(minutes=20))
    await h.say(CHEN, "/queue")
    assert h.last(CHEN).text == "Nothing is waiting for a technician."
    await h.say(CHEN, "/overdue")
    assert number in h.last(CHEN).text and "matter_accept" in h.last(CHEN).text
    await h.say(ZHOU, "/overdue")
    assert number not in h.last(ZHOU).text
    await h.say(ZHOU, "/matters")
    assert h.last(ZHOU).text == "No matters are waiting for you."
    await h.say(CHEN, "/matters")
    assert number in h.last(CHEN).text and "✋ Accept" in h.last(CHEN).labels()


async def test_the_office_figures_count_matters_apart_from_repairs(harness: Harness) -> None:
    h = harness
    await office(h)
    await add_staff(h, "Zhang")
    await file_ticket(h, R, photos=0)  # a repair the same day
    number = await file_matter(h, R, "小区门口乱停车，晚上很吵")
    h.clock.advance(timedelta(minutes=10))
    await h.tap(CHEN, "Accept")
    h.clock.advance(timedelta(minutes=50))
    await h.tap(CHEN, "Handled")
    await h.tap(R, "Handled")
    await h.tap(R, "⭐⭐⭐⭐ 4")
    day = h.clock.now().astimezone(h.services.site.default.timezone).date()
    async with h.db.transaction() as s:
        report = await build(s, h.services.site, Scope(community="demo"), Period(day, day), h.clock.now())
    assert report.total == 1 and "" not in report.by_category  # the repair alone in the repair figures
    m = report.matters
    assert (m.total, m.by_kind, m.by_department) == (1, {"complaint": 1}, {"security": 1})
    assert (m.response.median, m.handled.median) == (10.0, 60.0)
    assert (m.rated, m.rating_mean, m.completed, m.followed) == (1, 4.0, 1, 1)
    assert (await matter(h, number)).status == "closed"
    await h.say(CHEN, "/stats today")
    assert "Matters (complaints, suggestions …): 1" in h.last(CHEN).text
