"""Years of history as rows: 100 communities with staff, residents, tickets and timers, generated fast."""

# Everything is deterministic (seeded), so a cached database and a fresh one hold the same data.

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import NOW, ROOT

COMMUNITIES = 100
OPEN_OFFERED, OPEN_ASSIGNED = 100, 300  # today's workload: the same whatever the history's size
SHANGHAI = timedelta(hours=8)  # the demo site's zone; China has no daylight saving
SKILLS = [
    ["plumbing_electric"],
    ["plumbing_electric", "general"],
    ["civil_carpentry"],
    ["hvac"],
    ["plumbing_electric"],
    ["civil_carpentry", "general"],
    ["fire", "elevator"],
    ["plumbing_electric", "hvac"],
]
CATEGORIES = ["plumbing"] * 5 + ["civil"] * 2 + ["hvac"] * 2 + ["other"]
FAULTS = ["厨房水管漏水", "卫生间地漏堵了", "客厅插座没电", "空调不制冷", "入户门锁坏了", "墙面开裂"]
BUILDINGS = [("1", "north"), ("2", "north"), ("3", "south")]
Row = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """How big the generated history is."""

    tickets: int
    pending_timers: int

    @property
    def residents(self) -> int:
        """About ten tickets per household over two years, at least a couple of thousand households."""
        return max(2_000, self.tickets // 10)


def community(i: int) -> str:
    """The code of the i-th community."""
    return f"c{i:03d}"


def site_text() -> str:
    """A site file with 100 copies of the demo community, each with its own code, prefix and areas."""
    demo = (ROOT / "dispatch" / "site" / "demo_site.toml").read_text(encoding="utf-8")
    start = demo.index("[[community]]")
    block = demo[start:]
    parts = []
    for i in range(COMMUNITIES):
        code = community(i)
        text = block.replace('code = "demo"', f'code = "{code}"', 1)
        text = text.replace('ticket_prefix = "BX"', f'ticket_prefix = "B{i:02d}"', 1)
        text = re.sub(r'area = "(\w+)"', rf'area = "{code}-\1"', text)
        parts.append(text)
    return demo[:start] + "\n".join(parts)


def write_site(folder: Path) -> Path:
    """The 100-community site file, written once into `folder`."""
    path = folder / "site100.toml"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(site_text(), encoding="utf-8")
    return path


@dataclass
class Staff:
    """Ids of the generated staff, by community."""

    technicians: dict[str, list[int]]
    first_resident: int


def people(plan: Plan) -> tuple[list[Row], Staff]:
    """Staff of every community (8 technicians, 2 supervisors, a manager, customer service), residents."""
    rows: list[Row] = []
    techs: dict[str, list[int]] = {}
    start = NOW - timedelta(days=800)

    def add(name: str, role: str, code: str | None, **extra: Any) -> int:
        pid = len(rows) + 1
        base = {"id": pid, "name": name, "role": role, "language": "zh_CN", "phone": None}
        base |= {"community": code, "skills": [], "areas": [], "on_duty": False, "capacity": 8}
        base |= {"active": True, "created_at": start, "duty_changed_at": start}
        rows.append(base | extra)
        return pid

    for i in range(COMMUNITIES):
        code = community(i)
        north, south = f"{code}-north", f"{code}-south"
        areas = [[north], [south], []]
        techs[code] = [
            add(f"T{code}-{k}", "technician", code, skills=SKILLS[k], areas=areas[k % 3], on_duty=True)
            for k in range(len(SKILLS))
        ]
        add(f"S{code}-n", "supervisor", code, areas=[north])
        add(f"S{code}-s", "supervisor", code, areas=[south])
        add(f"M{code}", "manager", code, areas=[north, south])
        add(f"CS{code}", "cs", code)
    first_resident = len(rows) + 1
    for pid in range(first_resident, first_resident + plan.residents):
        add(f"Resident {pid}", "resident", None)
    return rows, Staff(techs, first_resident)


def identities(people_rows: list[Row]) -> Iterator[Row]:
    """One Telegram account per person; the chat id is the user id, as in private chats."""
    for person in people_rows:
        external = str(10_000_000 + person["id"])
        yield {
            "id": person["id"],
            "person_id": person["id"],
            "channel": "telegram",
            "external_id": external,
            "chat_id": external,
            "display_name": person["name"],
            "language_code": "",
            "last_seen_at": person["created_at"],
        }


def tickets(plan: Plan, staff: Staff, residents: range) -> Iterator[Row]:
    """Closed history over two years, then today's open workload; ids and numbers in time order."""
    rng = random.Random(7)
    r = rng.random  # one call per choice: a million tickets must generate in seconds, not minutes

    def pick(seq: Sequence[Any]) -> Any:
        return seq[int(r() * len(seq))]

    closed = plan.tickets - OPEN_OFFERED - OPEN_ASSIGNED
    # Epoch seconds are cheap to make and sort; datetimes are made once per ticket below.
    end = NOW.timestamp()
    times = sorted(end - 2 * 86_400 - r() * 730 * 86_400 for _ in range(closed))
    times += sorted(end - r() * 172_000 for _ in range(plan.tickets - closed))
    days: dict[int, str] = {}
    sequence: dict[tuple[int, str], int] = {}
    statuses = ["closed"] * 19 + ["cancelled"]
    urgencies = ["normal", "normal", "urgent", "emergency"]
    minutes = [timedelta(minutes=m) for m in range(1, 21)]
    hours = [timedelta(hours=h) for h in range(2, 73)]
    for n, stamp in enumerate(times, start=1):
        created = datetime.fromtimestamp(stamp, UTC)
        i = int(r() * COMMUNITIES)
        code = community(i)
        local_day = int((stamp + SHANGHAI.total_seconds()) // 86_400)
        day = days.get(local_day) or days.setdefault(local_day, (created + SHANGHAI).strftime("%Y%m%d"))
        seq = sequence[(i, day)] = sequence.get((i, day), 0) + 1
        building, area = pick(BUILDINGS)
        is_open = n > closed
        offered = is_open and n <= closed + OPEN_OFFERED
        tech = None if offered else pick(staff.technicians[code])
        yield {
            "id": n,
            "number": f"B{i:02d}-{day}-{seq:04d}",
            "community": code,
            "status": "offered" if offered else "assigned" if is_open else pick(statuses),
            "resident_id": pick(residents),
            "scope": "in_unit",
            "building": building,
            "unit": "1",
            "room": f"{1 + int(r() * 6)}0{1 + int(r() * 2)}",
            "area": f"{code}-{area}",
            "location_text": "",
            "latitude": None,
            "longitude": None,
            "phone": f"138{int(r() * 10**8):08d}",
            "description": pick(FAULTS),
            "voice_ref": "",
            "category": pick(CATEGORIES),
            "urgency": pick(urgencies),
            "preferred_window": "As soon as possible",
            "named_technician_id": None,
            "technician_id": tech,
            "language": "zh_CN",
            "source": "telegram",
            "rating": (3 + int(r() * 3)) if not is_open and n % 20 else None,
            "fixed": True if not is_open and n % 20 else None,
            "created_at": created,
            "updated_at": created if is_open else created + pick(hours),
            "assigned_at": None if tech is None else created + pick(minutes),
        }


def timers(plan: Plan) -> Iterator[Row]:
    """One settled timer per closed ticket; pending ones: the open tickets' own, then ballast."""
    r = random.Random(11).random
    closed = plan.tickets - OPEN_OFFERED - OPEN_ASSIGNED
    tid = 0
    start, step, half_hour = (
        NOW - timedelta(days=732),
        timedelta(days=730) / max(1, closed),
        timedelta(minutes=30),
    )
    for ticket in range(1, closed + 1):
        tid += 1
        # Spread like the tickets: the exact time doesn't matter, only that these rows are history.
        due = start + step * ticket
        yield _timer(tid, ticket, "contact", due, "cancelled" if ticket % 4 else "fired", due - half_hour)
    # Today's open tickets have their own deadlines, a grab window (offered) or a contact deadline and a stall
    # check (assigned), due within the next three hours: what /overdue finds (figure 4). Never already due:
    # figure 3 adds exactly the due timers it fires.
    open_deadlines = 0
    for ticket in range(closed + 1, plan.tickets + 1):
        offered = ticket <= closed + OPEN_OFFERED
        for kind in ("grab",) if offered else ("contact", "stall"):
            if open_deadlines == plan.pending_timers:
                break
            tid += 1
            open_deadlines += 1
            due = NOW + timedelta(seconds=60 + r() * 3 * 3600)
            yield _timer(tid, ticket, kind, due, "pending", NOW - timedelta(hours=1))
    # The rest, up to the plan's count, is ballast that only the sweep's "what is due" query sees: spread over
    # the next week and over the whole history.
    kinds = ["grab", "contact", "arrival", "stall", "same_day"]
    for _ in range(plan.pending_timers - open_deadlines):
        tid += 1
        due = NOW + timedelta(seconds=60 + r() * 7 * 86_400)
        kind = kinds[int(r() * len(kinds))]
        yield _timer(tid, 1 + int(r() * plan.tickets), kind, due, "pending", NOW - timedelta(hours=1))


def _timer(tid: int, ticket: int, kind: str, due: datetime, status: str, created: datetime) -> Row:
    return {
        "id": tid,
        "ticket_id": ticket,
        "kind": kind,
        "due_at": due,
        "status": status,
        "data": {},
        "created_at": created,
        "fired_at": due if status == "fired" else None,
    }


# What happened to a closed ticket, step by step: (kind, to_status, minutes after the step before). Every
# 25th goes to rework once, every 40th is handed back and taken again; cancelled ones stop after the offer.
_OFFER = [("submitted", "submitted", 0), ("offered", "offered", 0)]
_VISIT = [("contacted", None, 12), ("arrived", "on_site", 45), ("completed", "completed", 70)]
_CLOSE = [("confirmed", "confirmed", 180), ("rated", None, 1), ("closed", "closed", 0)]
_REWORK = [("rework", "rework", 200), ("arrived", "on_site", 600), ("completed", "completed", 60)]


def events(plan: Plan, staff: Staff, residents: range) -> Iterator[Row]:
    """Each ticket's event log, as the bot writes it: the figures (bench/reports.py) read these."""
    rng = random.Random(13).random
    eid = 0
    for ticket in tickets(plan, staff, residents):
        n, created, status = ticket["id"], ticket["created_at"], ticket["status"]
        steps: list[tuple[str, str | None, float]] = list(_OFFER)
        if status == "cancelled":
            steps.append(("cancelled", "cancelled", 30))
        elif ticket["assigned_at"] is not None:
            taken = (ticket["assigned_at"] - created).total_seconds() / 60
            if n % 40 == 0:
                steps += [("taken", "assigned", taken), ("handed_back", "offered", 30)]
            steps.append(("taken", "assigned", taken))
            if status == "closed":
                steps += _VISIT + (_REWORK if n % 25 == 0 else []) + _CLOSE
        at = created
        for kind, to_status, minutes in steps:
            at = at + timedelta(minutes=minutes * (0.5 + rng()))
            eid += 1
            yield {
                "id": eid,
                "ticket_id": n,
                "at": at,
                "actor_id": ticket["technician_id"] if kind not in _RESIDENT_STEPS else ticket["resident_id"],
                "kind": kind,
                "from_status": None,
                "to_status": to_status,
                "data": {},
            }


_RESIDENT_STEPS = frozenset({"submitted", "offered", "confirmed", "rated", "closed", "cancelled"})
