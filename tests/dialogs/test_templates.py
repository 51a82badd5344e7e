"""Every notice template in the routing table renders, for a reader in Chinese and one in English."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from dispatch.notices import Notice
from handlers.routes import build_routes
from handlers.templates.render import render
from storage.models import Person, Quote
from tests.support.dialogs import file_ticket, ticket
from tests.support.harness import CHANNEL, Harness, add_staff
from tests.support.matters import file_matter, matter, office

HAN = re.compile(r"[\u4e00-\u9fff]")


async def test_every_template_speaks_chinese_and_english(harness: Harness) -> None:
    h = harness
    await add_staff(h, "Zhang", language="zh_CN")
    await add_staff(h, "Smith", language="en")
    await office(h)
    await file_ticket(h, "resident", photos=1)
    await h.tap("Zhang", "抢单")
    held = await ticket(h)
    reported = await matter(h, await file_matter(h, "resident", "小区停车场总是有车乱停，堵住通道"))
    now = h.clock.now()
    later = (now + timedelta(hours=2)).isoformat()
    templates = build_routes().templates
    async with h.db.transaction() as session:
        readers = {
            p.language: p
            for p in (
                await session.execute(select(Person).where(Person.name.in_(["Zhang", "Smith"])))
            ).scalars()
        }
        quote = Quote(
            ticket_id=held.id, items=["换水龙头\t8000"], total_cents=8000, status="pending", created_at=now
        )
        session.add(quote)
        await session.flush()
        # What the domain puts in a notice, one value for every key any template reads.
        data: dict[str, object] = {
            "token": "tok",
            "group": False,
            "holder": "Li",
            "how": "taken",
            "winner": False,
            "technician": "Zhang",
            "technician_id": held.technician_id,
            "code": "1234",
            "reason": "parts",
            "at": later,
            "previous": now.isoformat(),
            "moves": 1,
            "eta": later,
            "until": later,
            "slot": later,
            "late": 12,
            "waited": 7,
            "by": "Chen",
            "to": "Li",
            "quote": quote.id,
            "approved": True,
            "text": "请带梯子",
            "buttons": [{"token": "tok", "name": "Li", "open": 2, "full": False}],
            "working": "BX-20261123-0001",
            "n": 3,
            "joined": True,
            "what": "on_the_way",
            "note": "水务公司正在抢修",
            "checker": "Chen",
        }
        said: dict[str, dict[str, str]] = {}
        for kind, template in templates.items():
            # A matter's notices speak about a matter, the rest about a repair.
            about = reported if kind.startswith("matter_") or kind == "converted" else held
            for language, reader in readers.items():
                notice = Notice(
                    kind, about.id, person_id=reader.id, channel=CHANNEL, chat_id=reader.name, data=data
                )
                out = await render(session, h.services, [notice], {kind: template})
                assert len(out) == 1, f"{kind} said nothing in {language}"
                said.setdefault(kind, {})[language] = out[0].text
    assert set(said) == set(templates)
    for kind, texts in said.items():
        assert texts["zh_CN"].strip() and texts["en"].strip(), kind
        assert HAN.search(texts["zh_CN"]), f"{kind} in Chinese: {texts['zh_CN']!r}"
        assert texts["zh_CN"] != texts["en"], f"{kind} is the same in both languages: {texts['en']!r}"
