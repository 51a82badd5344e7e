"""Message templates from assignment to archive: codes, visits, holds, quotes, completion, follow-up."""

from __future__ import annotations

from handlers.i18n import N_
from handlers.job_card import HOLD_NAMES
from handlers.messages import Choice, Outbound
from handlers.notify import View, local_time, message, template
from storage.models import Quote
from storage.repositories import Tickets

REASONS = {
    "not_fixed": N_("the resident says it is not fixed"),
    "followup": N_("customer service found it needs more work"),
    "reopened": N_("a supervisor reopened it"),
    "resident": N_("the resident asked"),
    "parts": N_("waiting for parts"),
    "overrun": N_("the previous job overran"),
    "other": N_("other reason"),
    "other_trade": N_("needs another trade"),
    "unreachable": N_("couldn't reach you"),
    "too_far": N_("couldn't get there in time"),
    "fixed_myself": N_("fixed it myself"),
    "not_needed": N_("no longer needed"),
    "duplicate": N_("reported twice"),
    "too_slow": N_("took too long"),
    "silent": N_("no confirmation from the resident"),
    "unhappy": N_("low rating"),
}


async def resident_token(v: View) -> str:
    """The token behind this resident's buttons on this ticket."""
    from dispatch.tokens import token_for

    return await token_for(v.session, "resident", v.ticket.id, v.ticket.resident_id, v.services.clock.now())


def reason(v: View) -> str:
    """The notice's reason in words."""
    code = str(v.notice.data.get("reason", ""))
    return v.t(REASONS.get(code, HOLD_NAMES.get(code, code)))


async def technician_name(v: View) -> str:
    """The holder's name."""
    return await v.name(v.ticket.technician_id) or v.t("the technician")


@template("assigned")
async def assigned(v: View) -> Outbound:
    """Who is coming, the arrival code, and the "technician is here" button; never sent to a group."""
    token = await resident_token(v)
    text = v.t(
        "Good news: {technician} has taken your request {number}.",
        technician=v.notice.data["technician"],
        number=v.ticket.number,
    )
    text += "\n" + v.t(
        "Your verification code is {code}. Tell it to the technician at your door; it confirms "
        "that the right person arrived.",
        code=v.notice.data["code"],
    )
    return message(text, choices=[[Choice(f"r:{token}:here", v.t("The technician is here"))]], important=True)


@template("appointment_set")
async def appointment_set(v: View) -> Outbound:
    """The visit time."""
    return message(
        v.t(
            "{technician} will visit for {number} at {at}.",
            technician=await technician_name(v),
            number=v.ticket.number,
            at=local_time(v, v.notice.data["at"]),
        ),
        important=True,
    )


@template("appointment_moved")
async def appointment_moved(v: View) -> Outbound:
    """Each move, with its reason."""
    return message(
        v.t(
            "Your appointment for {number} has moved to {at} ({reason}). Sorry for the change.",
            number=v.ticket.number,
            at=local_time(v, v.notice.data["at"]),
            reason=reason(v),
        ),
        important=True,
    )


@template("on_the_way")
async def on_the_way(v: View) -> Outbound:
    """Leaving now, with the ETA and a reminder of the code."""
    return message(
        v.t(
            "{technician} is on the way for {number}, expected around {eta}. Your verification code "
            "is {code}.",
            technician=await technician_name(v),
            number=v.ticket.number,
            eta=local_time(v, v.notice.data["eta"]),
            code=v.ticket.arrival_code,
        ),
        important=True,
    )


@template("arrived")
async def arrived(v: View) -> Outbound:
    """Arrival recorded."""
    return message(
        v.t(
            "{technician} has arrived for {number}.",
            technician=await technician_name(v),
            number=v.ticket.number,
        )
    )


@template("code_help")
async def code_help(v: View) -> Outbound:
    """The code didn't work: the resident can confirm arrival with a tap."""
    token = await resident_token(v)
    return message(
        v.t(
            "{technician} could not enter your code for {number}. If they are at your door, tap the "
            "button below.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
        ),
        choices=[[Choice(f"r:{token}:here", v.t("The technician is here"))]],
        important=True,
    )


@template("code_locked")
def code_locked(v: View) -> Outbound:
    """The supervisor hears about repeated wrong codes."""
    return message(
        v.t(
            "⚠️ {technician} entered a wrong verification code too many times for {number}. Please "
            "check with them and the resident.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
        ),
        important=True,
    )


@template("on_hold")
async def on_hold(v: View) -> Outbound:
    """Paused, why, and until when."""
    until = v.notice.data.get("until")
    text = v.t("Your request {number} is on hold: {reason}.", number=v.ticket.number, reason=reason(v))
    if until:
        text += " " + v.t("We expect to continue on {date}.", date=local_time(v, until))
    return message(text, important=True)


@template("resumed")
def resumed(v: View) -> Outbound:
    """Work goes on."""
    return message(v.t("Work on your request {number} has resumed.", number=v.ticket.number))


@template("quote")
async def quote(v: View) -> Outbound:
    """Paid work: items, total, approve or decline."""
    from dispatch.repair.quotes import quote_items
    from handlers.job_complete import money

    row = await v.session.get(Quote, v.notice.data["quote"])
    assert row is not None
    token = await resident_token(v)
    lines = [
        v.t(
            "{technician} quotes for paid work on {number}:",
            technician=await technician_name(v),
            number=v.ticket.number,
        )
    ]
    lines += [f"· {name} {money(cents)}" for name, cents in quote_items(row)]
    lines.append(v.t("Total: {total}. Work goes ahead only if you approve.", total=money(row.total_cents)))
    buttons = [
        Choice(f"r:{token}:qa:{row.id}", v.t("Approve")),
        Choice(f"r:{token}:qd:{row.id}", v.t("Decline")),
    ]
    return message("\n".join(lines), choices=[buttons], important=True)


@template("quote_decided")
def quote_decided(v: View) -> Outbound:
    """The technician hears the resident's answer."""
    if v.notice.data.get("approved"):
        return message(
            v.t("The resident approved the quote for {number}. You may go ahead.", number=v.ticket.number),
            important=True,
        )
    return message(
        v.t(
            "The resident declined the quote for {number}. Don't do the paid work; finish what is "
            "covered, or hand the job back.",
            number=v.ticket.number,
        ),
        important=True,
    )


async def _confirm_buttons(v: View) -> list[list[Choice]]:
    token = await resident_token(v)
    return [[Choice(f"r:{token}:fx:yes", v.t("✅ Fixed")), Choice(f"r:{token}:fx:no", v.t("❌ Not fixed"))]]


@template("completed")
async def completed(v: View) -> Outbound:
    """Before and after photos with Fixed / Not fixed."""
    photos = await Tickets(v.session).photos(v.ticket.id)
    before = [p.sha256 for p in photos if p.stage == "before"][:4]
    after = [p.sha256 for p in photos if p.stage == "after"][:5]
    text = v.t(
        "{technician} has finished your request {number}. Is it fixed?",
        technician=await technician_name(v),
        number=v.ticket.number,
    )
    if v.ticket.fee_cents:
        from handlers.job_complete import money

        text += "\n" + v.t("Fee: {fee}", fee=money(v.ticket.fee_cents))
    return message(text, choices=await _confirm_buttons(v), photos=before + after, important=True)


@template("confirm_reminder")
async def confirm_reminder(v: View) -> Outbound:
    """A gentle reminder to confirm."""
    return message(
        v.t("A reminder: is your request {number} fixed? Please let us know.", number=v.ticket.number),
        choices=await _confirm_buttons(v),
        important=True,
    )


@template("rework_resident")
def rework_resident(v: View) -> Outbound:
    """Rework promised, with a new code."""
    return message(
        v.t(
            "Sorry it isn't right yet. {number} goes back to the technician; your new verification code "
            "is {code}.",
            number=v.ticket.number,
            code=v.notice.data["code"],
        ),
        important=True,
    )


@template("rework_technician")
def rework_technician(v: View) -> Outbound:
    """The technician must go back."""
    return message(
        v.t(
            "🔁 Rework on {number}: {reason}. Please contact the resident again.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


@template("rework_supervisor")
async def rework_supervisor(v: View) -> Outbound:
    """The supervisor is told about rework."""
    return message(
        v.t(
            "🔁 Rework on {number} ({technician}): {reason}.",
            number=v.ticket.number,
            technician=await technician_name(v),
            reason=reason(v),
        )
    )


@template("followup_task")
def followup_task(v: View) -> Outbound:
    """Customer service gets a follow-up task."""
    return message(
        v.t(
            "📞 Follow-up needed for {number}: {reason}. Send /followups to record it.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


@template("cancelled_technician")
def cancelled_technician(v: View) -> Outbound:
    """The holder is stood down."""
    return message(
        v.t(
            "{number} was cancelled by the resident ({reason}). You don't need to go.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


@template("offer_cancelled")
def offer_cancelled(v: View) -> Outbound:
    """An open offer copy after the resident cancelled."""
    from handlers.notices_dispatch import OFFER_REF

    return message(
        v.t("{number} was cancelled.", number=v.ticket.number), edit_ref=OFFER_REF.format(v.ticket.id)
    )


@template("handed_back")
def handed_back(v: View) -> Outbound:
    """The resident hears that another technician is being found."""
    return message(
        v.t(
            "The technician couldn't continue with {number} ({reason}); we are finding another one for you.",
            number=v.ticket.number,
            reason=reason(v),
        ),
        important=True,
    )


@template("handed_back_supervisor")
def handed_back_supervisor(v: View) -> Outbound:
    """The supervisor hears about a hand-back."""
    return message(
        v.t(
            "↩️ {technician} handed back {number} ({reason}); it is offered again.",
            technician=v.notice.data["technician"],
            number=v.ticket.number,
            reason=reason(v),
        )
    )


@template("hold_over_technician")
def hold_over_technician(v: View) -> Outbound:
    """The hold's expected date has passed."""
    return message(
        v.t(
            "⏰ {number} was expected to continue today. Please resume it or update the hold.",
            number=v.ticket.number,
        ),
        important=True,
    )


@template("chase_hold")
async def chase_hold(v: View) -> Outbound:
    """The supervisor hears that a hold ran over."""
    return message(
        v.t(
            "⏰ {number} ({technician}) is still on hold after its expected date.",
            number=v.ticket.number,
            technician=await technician_name(v),
        )
    )


@template("resident_note")
def resident_note(v: View) -> Outbound:
    """A resident's added note or photo reaches the holder."""
    if v.notice.data.get("photo"):
        return message(
            v.t("📝 The resident added a photo to {number}.", number=v.ticket.number),
            photos=[v.notice.data["photo"]],
        )
    return message(
        v.t(
            "📝 The resident added a note to {number}: {text}",
            number=v.ticket.number,
            text=v.notice.data.get("text", ""),
        )
    )
