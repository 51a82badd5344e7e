"""Notices about matters (报事): the department's card, what the resident hears at each step, the deadlines.

The card goes to the department's staff in private (with the resident's name and phone unless they chose to
stay anonymous) and to the department's group (never a name or phone there, and only Accept); it is edited
in place as the matter moves.
"""

from __future__ import annotations

from dispatch.lifecycle import Status
from dispatch.matters.routing import may_handle
from dispatch.tokens import token_for
from handlers.buttons import MatterTap, ResidentTap, encode
from handlers.i18n import N_
from handlers.labels import department_name, matter_kind_name
from handlers.messages import Choice, Outbound
from handlers.templates.view import (
    View,
    in_place,
    matter_answer_buttons,
    message,
    resident_token,
    status_words,
)
from storage.repositories import People, Tickets

CARD_REF = "matter:{}"
ACTIONS = {
    Status.SUBMITTED: (
        MatterTap.ACCEPT,
        MatterTap.REPLY,
        MatterTap.HAND,
        MatterTap.FORWARD,
        MatterTap.REFUSE,
    ),
    Status.ASSIGNED: (MatterTap.REPLY, MatterTap.DONE, MatterTap.HAND, MatterTap.FORWARD, MatterTap.REFUSE),
    Status.IN_PROGRESS: (MatterTap.REPLY, MatterTap.DONE, MatterTap.HAND, MatterTap.FORWARD),
}
LABELS = {
    MatterTap.ACCEPT: N_("✋ Accept"),
    MatterTap.REPLY: N_("💬 Reply"),
    MatterTap.DONE: N_("✅ Handled"),
    MatterTap.HAND: N_("👤 Hand to…"),
    MatterTap.FORWARD: N_("↪️ Forward"),
    MatterTap.REFUSE: N_("🚫 Not ours"),
    MatterTap.REPAIR: N_("🔧 It's a repair"),
}


def _department(v: View) -> str:
    return department_name(v.community, v.ticket.department, v.lang)


async def _card(v: View, *, group: bool) -> Outbound:
    """The matter as its department sees it, with the steps open to the reader now."""
    t, tk = v.t, v.ticket
    lines = [f"📣 {v.headline()}", t("Status: {status}", status=status_words(v))]
    if group or tk.anonymous:
        lines.append(
            t("From: a resident who asked to stay anonymous") if tk.anonymous else t("From: a resident")
        )
    else:
        resident = await People(v.session).get(tk.resident_id)
        name = (resident.name if resident else "") or t("a resident")
        lines.append(t("From: {name}, phone {phone}", name=name, phone=tk.phone or "—"))
        v.audit("matter_card", room=False)
    if tk.about_staff_id is not None:
        lines.append(t("About a member of staff: {name}", name=await v.name(tk.about_staff_id)))
    if tk.handler_id is not None:
        lines.append(t("Handled by: {name}", name=await v.name(tk.handler_id)))
    lines.append(t("What: {text}", text=tk.description))
    if tk.location_text:
        lines.append(t("Where: {place}", place=tk.location_text))
    rows: list[list[Choice]] = []
    actions = ACTIONS.get(Status(tk.status), ()) if tk.status in ACTIONS else ()
    if group:
        actions = tuple(a for a in actions if a == MatterTap.ACCEPT)
    allowed = v.reader is not None and may_handle(v.reader, tk, v.community)
    if actions and (group or allowed):
        reader = None if group or v.reader is None else v.reader.id
        token = await token_for(v.session, "matter", tk.id, reader, v.services.clock.now())
        for action in (*actions, *(() if group else (MatterTap.REPAIR,))):
            if not rows or len(rows[-1]) >= 2:
                rows.append([])
            rows[-1].append(Choice(encode(MatterTap(token, action)), t(LABELS[action])))
    photos = [] if group else [p.sha256 for p in await Tickets(v.session).photos(tk.id, stage="before")]
    return message("\n".join(lines), choices=rows, photos=photos[:9] if v.notice.kind == "matter_new" else [])


async def matter_new(v: View) -> Outbound:
    """A new matter for the department (a group copy keeps the resident out of it)."""
    card = await _card(v, group=v.reader is None)
    card.ref = CARD_REF.format(v.ticket.id)
    card.important = True
    return card


async def matter_card(v: View) -> Outbound:
    """The card again, where it stands now: edited in place, or sent when this chat has none yet."""
    card = await _card(v, group=v.reader is None)
    if v.notice.data.get("handed_by"):
        card.text = v.t("{by} gave you this matter.", by=v.notice.data["handed_by"]) + "\n" + card.text
    if v.notice.data.get("fresh"):
        # /matters: a new card at the bottom of the chat; later edits go to this newest copy.
        card.ref = CARD_REF.format(v.ticket.id)
        return card
    return await in_place(v, CARD_REF.format(v.ticket.id), card)


def matter_accepted(v: View) -> Outbound:
    """The resident hears who has their matter."""
    return message(
        v.t(
            "{by} ({department}) has your {number} and will answer you here.",
            by=v.notice.data.get("by", ""),
            department=_department(v),
            number=v.ticket.number,
        )
    )


async def matter_reply(v: View) -> Outbound:
    """The office's answer, through the bot; the resident can answer back with a note."""
    token = await resident_token(v)
    note = Choice(encode(ResidentTap(token, ResidentTap.NOTE)), v.t("💬 Answer"))
    text = v.t(
        "The property office ({department}) about {number}:\n{text}",
        department=_department(v),
        number=v.ticket.number,
        text=v.notice.data.get("text", ""),
    )
    return message(text, choices=[[note]], important=True)


def matter_forwarded(v: View) -> Outbound:
    """The resident hears where the matter went."""
    return message(
        v.t(
            "{number} has been passed to {department}, who can help with it: {reason}",
            number=v.ticket.number,
            department=_department(v),
            reason=v.notice.data.get("reason", "") or "—",
        )
    )


async def matter_done(v: View) -> Outbound:
    """Handled, says the department: was it? (a rating follows)."""
    text = v.t(
        "{department} says your {number} has been handled. Was it?",
        department=_department(v),
        number=v.ticket.number,
    )
    return message(text, choices=await matter_answer_buttons(v), important=True)


async def matter_reopened(v: View) -> Outbound:
    """Back to whoever handles it."""
    reason = v.notice.data.get("reason")
    text = (
        v.t("{number}: the resident says it was not handled yet.", number=v.ticket.number)
        if reason == "not_handled"
        else v.t("{number}: customer service found it needs more work.", number=v.ticket.number)
    )
    card = await _card(v, group=False)
    card.text = text + "\n" + card.text
    return card


def matter_rejected(v: View) -> Outbound:
    """Not something the office handles: the resident hears why."""
    return message(
        v.t(
            "The property office can't take up {number}: {reason}",
            number=v.ticket.number,
            reason=v.notice.data.get("reason") or "—",
        ),
        important=True,
    )


async def matter_escalate_manager(v: View) -> Outbound:
    """Nobody in the department accepted it in time."""
    card = await _card(v, group=False)
    card.text = (
        v.t(
            "⚠️ Nobody in {department} accepted {number} in time ({late} min late).",
            department=_department(v),
            number=v.ticket.number,
            late=v.notice.data.get("late", 0),
        )
        + "\n"
        + card.text
    )
    card.important = True
    return card


def matter_late_resident(v: View) -> Outbound:
    """An honest word when the promised answer time passes."""
    return message(
        v.t(
            "We're sorry: {number} has not been answered within the time we promised. The manager has been "
            "told and will see that you hear from us.",
            number=v.ticket.number,
        ),
        important=True,
    )


def matter_late_manager(v: View) -> Outbound:
    """The manager hears a promise to a resident was missed."""
    return message(
        v.t(
            "⚠️ {number} ({kind}, {department}) was not answered within the promised time.",
            number=v.ticket.number,
            kind=matter_kind_name(v.ticket.matter_kind, v.t),
            department=_department(v),
        ),
        important=True,
    )


def converted(v: View) -> Outbound:
    """The resident hears that their request runs the other loop now."""
    if v.notice.data.get("to") == "repair":
        text = v.t("{number} needs a repair: it has gone to our technicians.", number=v.ticket.number)
    else:
        text = v.t(
            "{number} is not a repair: it has gone to {department}.",
            number=v.ticket.number,
            department=_department(v),
        )
    return message(text)
