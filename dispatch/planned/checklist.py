"""The technician's checklist on a planned ticket: answers judged, failures opened as linked repairs, closed.

A planned ticket has nobody to confirm it: answering the checklist completes and closes it in one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import timers
from dispatch.lifecycle import Status, log, transition
from dispatch.notices import Notices
from dispatch.offers.pool import dispatch_ticket
from dispatch.planned.rules import PLAN_DUE, SOURCE, system_person
from dispatch.repair.rules import JobRefused, move, require_holder
from dispatch.site import Community
from dispatch.site.assets import Asset, Check
from dispatch.tickets import Draft, submit
from storage.models import Person, Ticket, TicketPhoto

BEFORE_SITE = (Status.ASSIGNED, Status.SCHEDULED, Status.EN_ROUTE, Status.REWORK)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Answer:
    """One item answered: passed or not, the value measured (for a value check), a note and photos."""

    ok: bool
    value: float | None = None
    note: str = ""
    photos: tuple[str, ...] = field(default_factory=tuple)

    def as_data(self) -> dict[str, object]:
        """For the conversation row and the event log."""
        return {"ok": self.ok, "value": self.value, "note": self.note, "photos": list(self.photos)}

    @classmethod
    def from_data(cls, data: dict[str, object]) -> Answer:
        """Back from `as_data`."""
        value = data.get("value")
        photos = data.get("photos") or []
        return cls(
            bool(data.get("ok")),
            float(value) if isinstance(value, int | float) else None,
            str(data.get("note") or ""),
            tuple(str(p) for p in photos) if isinstance(photos, list) else (),
        )


def judge(check: Check, choice: str | None, typed: str) -> Answer | None:
    """An answer to one item from a tapped choice ("pass" / "fail") or a typed value; None when it is
    neither a choice offered nor (for a value check) a plain number."""
    if not check.is_value:
        if choice in ("pass", "fail"):
            return Answer(choice == "pass")
        return None
    if not _NUMBER.fullmatch(typed.strip()):
        return None
    value = float(typed)
    return Answer(check.passes(value), value)


async def begin(session: AsyncSession, ticket: Ticket, tech: Person, now: datetime) -> None:
    """The technician starts the checklist: on site now (no arrival code: there is no resident)."""
    require_holder(ticket, tech)
    if ticket.status in BEFORE_SITE:
        await move(session, ticket, Status.ON_SITE, now, tech.id, "arrived", planned=True)
    elif ticket.status not in (Status.ON_SITE, Status.IN_PROGRESS):
        raise JobRefused("status", status=ticket.status)


async def finish(
    session: AsyncSession,
    community: Community,
    asset: Asset,
    ticket: Ticket,
    tech: Person,
    answers: list[Answer],
    *,
    photos: list[str],
    note: str,
    now: datetime,
    notices: Notices,
) -> list[Ticket]:
    """Record the answers, open a linked repair for each failed item, and close the planned ticket; return
    the repairs opened."""
    require_holder(ticket, tech)
    if ticket.status not in (Status.ON_SITE, Status.IN_PROGRESS) or len(answers) != len(asset.checks):
        raise JobRefused("status", status=ticket.status)
    for sha in photos:
        session.add(
            TicketPhoto(ticket_id=ticket.id, sha256=sha, stage="after", added_by=tech.id, added_at=now)
        )
    items = [
        {"item": c.item, "unit": c.unit, **a.as_data()} for c, a in zip(asset.checks, answers, strict=True)
    ]
    log(session, ticket, "checklist", now=now, actor_id=tech.id, items=items, note=note[:1000])
    repairs = [
        await _open_repair(session, community, asset, ticket, check, answer, now, notices)
        for check, answer in zip(asset.checks, answers, strict=True)
        if not answer.ok
    ]
    ticket.materials = note[:2000]
    failed = [r.number for r in repairs]
    await move(
        session, ticket, Status.COMPLETED, now, tech.id, "completed", photos=len(photos), failed=failed
    )
    await transition(session, ticket, Status.CLOSED, now=now, actor_id=None, kind="closed", planned=True)
    await timers.cancel(session, ticket.id, [PLAN_DUE, *timers.JOB_TIMERS])
    return repairs


async def _open_repair(
    session: AsyncSession,
    community: Community,
    asset: Asset,
    planned: Ticket,
    check: Check,
    answer: Answer,
    now: datetime,
    notices: Notices,
) -> Ticket:
    """A failed item becomes a repair of the asset, linked to the planned ticket, offered like any other."""
    measured = f" {answer.value:g}{check.unit}" if answer.value is not None else ""
    words = f"{asset.name}：{check.item}{measured}" + (f"。{answer.note}" if answer.note else "")
    draft = Draft(
        community=community.code,
        scope="public",
        phone="",
        description=words[:2000],
        category=asset.category,
        urgency=community.default_urgency.code,
        building=asset.building,
        location_text=asset.name,
        photos=list(answer.photos),
        source=SOURCE,
    )
    filer = await system_person(session, now)
    repair = await submit(session, community, filer.id, draft, now=now, language="zh_CN")
    repair.area = asset.area
    repair.parent_id = planned.id
    log(session, repair, "from_plan", now=now, actor_id=None, planned=planned.number, item=check.item)
    log(session, planned, "repair_opened", now=now, actor_id=None, repair=repair.number, item=check.item)
    await dispatch_ticket(session, community, repair, now, notices)
    return repair
