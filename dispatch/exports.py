"""Exports: one row per ticket filed in a period (its number, the time of each step, what and where, who,
rating, fee, status), as CSV or XLSX. The resident's phone and room only when asked for (`with_contacts`):
the office's own CLI, never a chat.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.figures import Period, Scope, load
from dispatch.site import Site, localized
from storage.models import Ticket

# Column keys in order; the header row shows each key's label (in the reader's language when given).
COLUMNS = (
    "number",
    "community",
    "filed",
    "accepted",
    "contacted",
    "on_site",
    "completed",
    "followed_up",
    "category",
    "urgency",
    "building",
    "unit",
    "technician",
    "rating",
    "fee",
    "status",
    "source",
    # Added after the first columns, so scripts reading those by position keep working.
    "kind",
    "department",
)
CONTACT_COLUMNS = ("room", "phone")
FORMATS = ("csv", "xlsx")


def columns(with_contacts: bool) -> tuple[str, ...]:
    """The columns of an export."""
    return COLUMNS + CONTACT_COLUMNS if with_contacts else COLUMNS


async def rows(
    session: AsyncSession,
    site: Site,
    scope: Scope,
    period: Period,
    *,
    with_contacts: bool = False,
    language: str = "zh_CN",
) -> list[dict[str, Any]]:
    """One dict per ticket filed in the period, oldest first; times in the community's clock."""
    facts = await load.tickets(session, site, scope, period)
    names = await load.names(session, [f.technician_id for f in facts if f.technician_id])
    phones: dict[int, str] = {}
    if with_contacts and facts:
        stmt = select(Ticket.id, Ticket.phone).where(Ticket.id.in_([f.id for f in facts]))
        phones = {tid: phone for tid, phone in (await session.execute(stmt))}
    out = []
    for f in facts:
        community = site.community(f.community) or site.default

        def local(when: float | None, tz: Any = community.timezone) -> str:
            return datetime.fromtimestamp(when, tz).strftime("%Y-%m-%d %H:%M") if when is not None else ""

        category = community.category(f.category)
        urgency = community.urgency(f.urgency)
        building = community.building(f.building) if f.building else None
        department = community.matters.department(f.department) if f.department else None
        row: dict[str, Any] = {
            "number": f.number,
            # "repair", or a matter's kind (complaint, suggestion, inquiry, praise)
            "kind": f.matter_kind if f.kind == "matter" else f.kind,
            "community": localized(community, language),
            "filed": local(f.created),
            "accepted": local(f.assigned),
            "contacted": local(f.contacted),
            "on_site": local(f.on_site),
            "completed": local(f.completed),
            "followed_up": local(f.followed),
            "category": localized(category, language) if category else f.category,
            "urgency": localized(urgency, language) if urgency else f.urgency,
            "building": localized(building, language) if building else (f.building or ""),
            "unit": f.unit or "",
            "technician": names.get(f.technician_id, "") if f.technician_id else "",
            "rating": f.rating if f.rating is not None else "",
            "fee": f"{f.fee_cents / 100:.2f}" if f.fee_cents else "",
            "status": f.status,
            "source": f.source,
            "department": localized(department, language) if department else f.department,
        }
        if with_contacts:
            row["room"] = f.room or ""
            row["phone"] = phones.get(f.id, "")
        out.append(row)
    return out


def to_csv(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], headers: Mapping[str, str]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([headers.get(k, k) for k in keys])
    for row in rows:
        writer.writerow([row.get(k, "") for k in keys])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], headers: Mapping[str, str]) -> bytes:
    """An XLSX workbook with one sheet, a frozen header row and readable column widths (blocking)."""
    from openpyxl import Workbook  # only the exports need it

    book = Workbook(write_only=True)
    sheet = book.create_sheet("tickets")
    sheet.freeze_panes = "A2"
    for i, key in enumerate(keys):
        letter = _letter(i)
        sheet.column_dimensions[letter].width = 18 if key in ("number", "filed", "accepted") else 14
    sheet.append([headers.get(k, k) for k in keys])
    for row in rows:
        sheet.append([row.get(k, "") for k in keys])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
