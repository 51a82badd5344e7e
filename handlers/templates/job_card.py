"""The technician's job card: one message per held job, edited in place, with only the steps valid now.

```mermaid
stateDiagram-v2
    assigned --> scheduled: Set appointment (time; a move needs a reason, at most 3)
    assigned --> en_route: On my way (ETA)
    scheduled --> en_route: On my way (ETA)
    assigned --> on_site: Arrived (resident's code)
    scheduled --> on_site: Arrived (resident's code)
    en_route --> on_site: Arrived (resident's code)
    on_site --> in_progress: Start work
    on_site --> on_hold: On hold (reason, expected date)
    in_progress --> on_hold: On hold
    on_hold --> in_progress: Resume
    on_site --> completed: Complete (photos, materials, labour, fee)
    in_progress --> completed: Complete
    assigned --> offered: Hand back (reason)
    on_hold --> offered: Hand back
    rework --> on_site: Arrived (new code)
```
Quote (paid work) is available on site and in progress; it waits for the resident's approval.

Planned maintenance (a ticket with no resident) has one step instead: 📋 Checklist, which puts the technician
on site and, once every item is answered, completes and closes the ticket. A repair that a failed check
opened has no resident either: Arrived needs no code, and there is nobody to contact or quote.
"""

from __future__ import annotations

from dispatch.planned.rules import work_of
from dispatch.tokens import token_for
from handlers.buttons import JobTap, encode
from handlers.i18n import N_
from handlers.labels import HOLD_NAMES
from handlers.messages import Choice, Outbound
from handlers.templates.view import View, in_place, local_time, message, status_words
from storage.models import Ticket

ACTIONS: dict[str, tuple[str, ...]] = {
    "assigned": ("contacted", "appt", "way", "arrived", "handback"),
    "scheduled": ("appt", "way", "arrived", "handback"),
    "en_route": ("arrived", "handback"),
    "rework": ("appt", "way", "arrived"),
    "on_site": ("start", "quote", "hold", "complete"),
    "in_progress": ("quote", "hold", "complete"),
    "on_hold": ("resume", "handback"),
}
LABELS = {
    "contacted": N_("📞 Contacted"),
    "appt": N_("📅 Set appointment"),
    "appt_move": N_("📅 Move appointment"),
    "way": N_("🚗 On my way"),
    "arrived": N_("📍 Arrived"),
    "start": N_("🔧 Start work"),
    "quote": N_("💰 Quote"),
    "hold": N_("⏸ On hold"),
    "resume": N_("▶️ Resume"),
    "complete": N_("✅ Complete"),
    "handback": N_("↩️ Hand back"),
    "checklist": N_("📋 Checklist"),
}
# Planned maintenance: the checklist is the visit.
PLAN_ACTIONS: dict[str, tuple[str, ...]] = {
    "assigned": ("checklist", "handback"),
    "scheduled": ("checklist", "handback"),
    "en_route": ("checklist", "handback"),
    "rework": ("checklist",),
    "on_site": ("checklist",),
    "in_progress": ("checklist",),
}
# Without a resident there is nobody to call, and nobody to approve a price.
_NO_RESIDENT = ("contacted", "quote")


def valid_actions(status: str, contacted: bool, work: str = "repair") -> tuple[str, ...]:
    """The job steps a technician may take in this status, for this kind of work (see `work_of`)."""
    if work == "plan":
        return PLAN_ACTIONS.get(status, ())
    actions = ACTIONS.get(status, ())
    if work in ("unattended", "patrol"):
        actions = tuple(a for a in actions if a not in _NO_RESIDENT)
    return tuple(a for a in actions if not (a == "contacted" and contacted))


def work(ticket: Ticket) -> str:
    """The kind of work for the card's steps: `work_of`'s, or "patrol" for a fault staff found."""
    return "patrol" if ticket.origin == "patrol" else work_of(ticket)


def contacted(ticket: Ticket) -> bool:
    """True when there is nobody left to call: the resident was reached, or staff found the fault."""
    return ticket.contacted_at is not None or ticket.origin != "resident"


def card_ref(ticket_id: int) -> str:
    """The outbox ref of a ticket's job card (per chat)."""
    return f"job:{ticket_id}"


async def job_card(v: View) -> Outbound:
    """The card: what, where, when, where it stands, and buttons for the next valid steps."""
    t, tk = v.t, v.ticket
    lines = [
        t("🛠 Job {headline}", headline=v.headline()),
        t("Address: {where}", where=v.where(private=True)),
        t("Status: {status}", status=status_words(v)),
    ]
    if tk.appointment_at is not None and tk.status in ("scheduled", "en_route", "assigned", "rework"):
        lines.append(t("Appointment: {at}", at=local_time(v, tk.appointment_at)))
    if tk.hold_reason and tk.status == "on_hold":
        lines.append(t("On hold: {reason}", reason=t(HOLD_NAMES.get(tk.hold_reason, tk.hold_reason))))
    actions = valid_actions(tk.status, contacted(tk), work(tk))
    rows: list[list[Choice]] = []
    if actions and v.reader is not None and tk.technician_id == v.reader.id:
        token = await token_for(v.session, "job", tk.id, v.reader.id, v.services.clock.now())
        for action in actions:
            label = LABELS["appt_move" if action == "appt" and tk.appointment_at else action]
            choice = Choice(encode(JobTap(token, action)), t(label))
            if not rows or len(rows[-1]) >= 2:
                rows.append([])
            rows[-1].append(choice)
    elif tk.technician_id != (v.reader.id if v.reader else None):
        lines.append(t("This job is no longer yours."))
    card = message("\n".join(lines), choices=rows)
    if v.notice.data.get("fresh"):
        # /jobs: a new card at the bottom of the chat; later edits go to this newest copy.
        card.ref = card_ref(tk.id)
    else:
        card = await in_place(v, card_ref(tk.id), card)
    if not card.edit_ref:  # a new copy of the full address; edits of it show nothing new
        v.audit("job_card", room=True)
    return card
