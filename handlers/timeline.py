"""A ticket's event log in plain words, for residents and staff."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_
from handlers.labels import HOLD_NAMES, REASONS
from storage.models import Ticket
from storage.repositories import People, Tickets

WORDS = {
    "submitted": N_("Request filed"),
    # residents' data (dispatch/privacy)
    "erased": N_("Personal details erased at the resident's request"),
    "retention": N_("Photos or contact details removed after the retention period"),
    "offered": N_("Sent to technicians"),
    "queued": N_("Queued: every technician was fully booked"),
    "widened": N_("Offered to more technicians"),
    "taken": N_("{actor} took the job"),
    "assigned": N_("Assigned by {actor}"),
    "reassigned": N_("Passed to another technician by {actor}"),
    "escalated": N_("The supervisor was asked to assign it"),
    "contacted": N_("{actor} contacted you"),
    "appointment_set": N_("Appointment set"),
    "appointment_moved": N_("Appointment moved ({reason})"),
    "en_route": N_("{actor} set off"),
    "arrived": N_("Technician arrived"),
    "in_progress": N_("Work started"),
    "on_hold": N_("On hold ({reason})"),
    "resumed": N_("Work resumed"),
    "quoted": N_("Quote sent"),
    "quote_approved": N_("Quote approved"),
    "quote_declined": N_("Quote declined"),
    "completed": N_("Work completed"),
    "confirmed": N_("You confirmed it is fixed"),
    "rated": N_("Rated {rating}/5"),
    "rework": N_("Sent back for rework ({reason})"),
    "followed_up": N_("Customer service followed up"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled ({reason})"),
    "handed_back": N_("Handed back by {actor} ({reason})"),
    "resident_note": N_("You added a note"),
    "resident_photo": N_("You added a photo"),
    # matters (报事)
    "accepted": N_("Accepted by {actor}"),
    "handed": N_("Given to a member of staff to handle"),
    "answered": N_("The office answered"),
    "replied": N_("{actor} replied"),
    "forwarded": N_("Passed to another department ({reason})"),
    "handled": N_("Marked as handled"),
    "not_handled": N_("You said it was not handled"),
    "rejected": N_("Not taken up by the office ({reason})"),
    "answer_late": N_("The promised answer time passed; the manager was told"),
    "converted": N_("Converted by {actor}"),
    "reopened": N_("Reopened"),
    # planned maintenance
    "planned": N_("Opened by the maintenance plan"),
    "checklist": N_("{actor} answered the checklist"),
    "repair_opened": N_("A repair was opened for a failed check"),
    "from_plan": N_("Opened for a failed planned check"),
    "plan_overdue": N_("Overdue: the supervisors were told"),
}
STAFF_ONLY = {
    "escalated",
    "wrong_code",
    "chase_contact",
    "chase_arrival",
    "chase_stall",
    "unfinished_today",
    "declined",
    "followup_opened",
    "confirm_reminded",
    "commented",
    "withdrawn",
}


async def timeline(ctx: Context, ticket: Ticket, *, staff: bool = False) -> list[str]:
    """One line per event: local time and what happened."""
    community = ctx.services.site.community(ticket.community) or ctx.community
    people = People(ctx.session)
    lines = []
    for event in await Tickets(ctx.session).events(ticket.id):
        if event.kind in STAFF_ONLY and not staff:
            continue
        words = WORDS.get(event.kind)
        when = event.at.astimezone(community.timezone).strftime("%m-%d %H:%M")
        if words is None:
            if staff:
                lines.append(f"{when}  {event.kind}")
            continue
        actor = await people.get(event.actor_id) if event.actor_id else None
        reason = str(event.data.get("reason", ""))
        lines.append(
            f"{when}  "
            + ctx.t(
                words,
                actor=actor.name if actor else "—",
                reason=ctx.t(REASONS.get(reason) or HOLD_NAMES.get(reason, reason)) if reason else "—",
                rating=event.data.get("rating", ""),
            )
        )
    return lines
