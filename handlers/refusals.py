"""Telling someone, in their language, why the domain refused a step (a JobRefused and its reason)."""

from __future__ import annotations

from dispatch.repair.rules import JobRefused
from handlers.context import Context
from handlers.i18n import N_
from handlers.labels import status_name

REFUSALS = {
    "not_holder": N_("This job is no longer yours."),
    "status": N_("That step isn't possible now (the job is {status})."),
    "past": N_("That time has already passed. Please pick a later one."),
    "too_many_moves": N_("The appointment has already been moved {n} times. Please ask the supervisor."),
    "wrong_code": N_("That code is not right. {left} tries left."),
    "code_locked": N_(
        "Too many wrong codes; the supervisor has been told. Ask the resident to tap "
        "“The technician is here” in their chat."
    ),
    "quote_format": N_(
        "I couldn't read the line “{line}”. Write one item per line: name and amount, "
        "for example 换水龙头 80."
    ),
    "quote_amount": N_("The amount in “{line}” is not plausible: each must be above 0 and at most ¥50,000."),
    "quote_pending": N_("The resident hasn't answered the last quote yet."),
    "photos": N_("Please send at least {n} photo(s) of the finished work."),
    "numbers": N_("Those numbers don't look right; please check them."),
    "eta": N_("Please choose an arrival time."),
    "reason": N_("Please choose a reason."),
    "not_matter": N_("That is a repair, not a matter."),
    "not_department": N_("That matter belongs to another department."),
    "matter_taken": N_("{holder} has already accepted it."),
    "department": N_("Please choose another department."),
    "empty": N_("Please write something first."),
    "already": N_("It already is one."),
    "not_staff": N_("Only registered staff can take it."),
    "not_supervisor": N_("Only a supervisor or manager of this area can do that."),
    "not_yours": N_("That isn't yours to answer."),
    "already_linked": N_("That request is already part of this incident."),
    "incident_post": N_("Please choose what to post."),
    "incident_closed": N_("That incident is already closed."),
    "code_needed": N_("Please type the verification code the resident gives you (4 digits)."),
}


def refuse(ctx: Context, exc: JobRefused) -> None:
    """Tell the technician why a step was refused, in their language."""
    values = dict(exc.values)
    if "status" in values:
        values["status"] = status_name(str(values["status"]), ctx.t)
    ctx.reply(ctx.t(REFUSALS.get(exc.reason, N_("That step isn't possible now.")), **values))
