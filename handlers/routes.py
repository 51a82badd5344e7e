"""The routing table: every command, button, dialog, group handler and notice template, in one place.

Nothing registers itself: a new command, button kind, dialog or notice is added here, next to its neighbours,
and a test checks that every notice kind the domain emits has a template in both languages and every button
kind has exactly one handler. `build_routes()` makes the table; the router and the timer sweep take it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from handlers.buttons import (
    AssignTap,
    CheckTap,
    FollowUpTap,
    JobTap,
    MatterTap,
    OfferTap,
    ResidentTap,
    StatsTap,
    Tap,
)
from handlers.context import Context, Services
from handlers.intake import entry
from handlers.intake import flow as intake
from handlers.matters import flow as report
from handlers.messages import Inbound, Outbound
from handlers.office import (
    assign,
    contacts_audit,
    convert,
    dashboard,
    export,
    followups,
    groups,
    incidents,
    lists,
    patrol,
    plan,
    stats,
    tickets,
)
from handlers.office import matters as office_matters
from handlers.resident import attach, commands, menu, privacy, ticket
from handlers.technician import card, duty, my_jobs, offers
from handlers.templates import (
    assignment,
    closing,
    digests,
    escalation,
    job_card,
    matters,
    planned,
    quotes,
    visit,
)
from handlers.templates import incidents as incident_notices
from handlers.templates import offers as offer_notices
from handlers.templates.view import Template, TicketlessTemplate

Command = Callable[[Context], Awaitable[None]]
# A dialog's step: the event and the value of the button tapped (or label typed) for its last question.
Dialog = Callable[[Context, "str | None"], Awaitable[None]]
# In a group chat: True when the handler took the event.
GroupHandler = Callable[[Context], Awaitable[bool]]
# A tap answered from one read when it can change nothing, before the event's person and conversation rows;
# None takes the whole path. Run in the event's transaction, or on PostgreSQL on a connection of its own.
QuickTap = Callable[
    [AsyncSession | AsyncConnection, Inbound, Any, Services], Awaitable["list[Outbound] | None"]
]


@dataclass(frozen=True)
class ButtonRoute:
    """What a button kind is handled by (the tap, decoded and typed, is passed on)."""

    handle: Callable[[Context, Any], Awaitable[None]]
    quick: QuickTap | None = None


@dataclass(frozen=True)
class Routes:
    """The whole table."""

    # Commands in a private chat, by name without the slash.
    commands: Mapping[str, Command]
    # `/start PAYLOAD` from a deep link, by the payload's first part (before "_").
    deep_links: Mapping[str, Command]
    buttons: Mapping[type[Tap], ButtonRoute]
    # The dialog a conversation is in, by `Conversation.dialog`.
    dialogs: Mapping[str, Dialog]
    # Tried in order for every event in a group chat.
    group_handlers: tuple[GroupHandler, ...]
    # A notice's kind -> its template.
    templates: Mapping[str, Template]
    # Notices about no ticket (digests), kind -> template.
    ticketless: Mapping[str, TicketlessTemplate]


def build_routes() -> Routes:
    """The table for the whole bot."""
    return Routes(
        commands={
            # everyone
            "start": commands.start_command,
            "repair": commands.repair_command,
            "report": commands.report_command,
            "cancel": commands.cancel_command,
            "help": commands.help_command,
            "mytickets": commands.mytickets_command,
            "language": commands.language_command,
            # residents
            "status": ticket.status_command,
            "mydata": privacy.mydata_command,
            "forgetme": privacy.forgetme_command,
            # technicians
            "jobs": my_jobs.jobs_command,
            "onduty": duty.on_duty,
            "offduty": duty.off_duty,
            "bind": duty.bind,
            # supervisors and managers
            "assign": assign.assign_command,
            "reassign": assign.reassign_command,
            "queue": lists.queue_command,
            "overdue": lists.overdue_command,
            "bindgroup": groups.bind_group_command,
            "stats": stats.stats_command,
            "export": export.export_command,
            "dashboard": dashboard.dashboard_command,
            "incident": incidents.incident_command,
            "plan": plan.plan_command,
            "audit": contacts_audit.audit_command,
            # every member of the office
            "ticket": tickets.ticket_command,
            "reopen": tickets.reopen_command,
            "followups": followups.followups_command,
            "matters": office_matters.matters_command,
            "convert": convert.convert_command,
            # every member of staff
            "patrol": patrol.patrol_command,
        },
        deep_links={"inv": duty.bind},
        buttons={
            OfferTap: ButtonRoute(offers.offer_button, quick=offers.quick_offer_tap),
            JobTap: ButtonRoute(card.job_button),
            ResidentTap: ButtonRoute(ticket.resident_button),
            AssignTap: ButtonRoute(assign.assign_button),
            FollowUpTap: ButtonRoute(followups.followup_button),
            MatterTap: ButtonRoute(office_matters.matter_button),
            StatsTap: ButtonRoute(stats.stats_button),
            CheckTap: ButtonRoute(patrol.check_button),
        },
        dialogs={
            intake.NAME: intake.handle,
            entry.RESUME: entry.resume_dialog,
            menu.MENU: menu.menu_dialog,
            attach.ATTACH: attach.attach_step,
            ticket.DIALOG: ticket.ticket_dialog,
            privacy.FORGET: privacy.forget_dialog,
            card.DIALOG: card.job_dialog,
            assign.CONFIRM: assign.confirm_step,
            followups.DIALOG: followups.followup_dialog,
            report.NAME: report.handle,
            office_matters.DIALOG: office_matters.matter_dialog,
            convert.DIALOG: convert.convert_dialog,
            incidents.DIALOG: incidents.incident_dialog,
        },
        group_handlers=(groups.group_commands,),
        templates={
            # offers and who holds the job
            "offer": offer_notices.offer,
            "offer_closed": offer_notices.offer_closed,
            "offer_declined": offer_notices.offer_declined,
            "job_details": assignment.job_details,
            "job_card": job_card.job_card,
            "assigned": assignment.assigned,
            "reassigned": assignment.reassigned,
            "job_removed": assignment.job_removed,
            "handed_back": assignment.handed_back,
            "handed_back_supervisor": assignment.handed_back_supervisor,
            "queued": assignment.queued,
            "queue_supervisor": assignment.queue_supervisor,
            # timers: escalation and chases
            "escalate_supervisor": escalation.escalate_supervisor,
            "escalate_manager": escalation.escalate_manager,
            "chase_contact": escalation.chase_contact,
            "chase_arrival": escalation.chase_arrival,
            "late_resident": escalation.late_resident,
            "chase_stall": escalation.chase_stall,
            "unfinished_today": escalation.unfinished_today,
            "hold_over_technician": escalation.hold_over_technician,
            "chase_hold": escalation.chase_hold,
            # planned maintenance
            "plan_overdue": planned.plan_overdue,
            # the visit
            "appointment_set": visit.appointment_set,
            "appointment_moved": visit.appointment_moved,
            "on_the_way": visit.on_the_way,
            "arrived": visit.arrived,
            "code_help": visit.code_help,
            "code_locked": visit.code_locked,
            "on_hold": visit.on_hold,
            "resumed": visit.resumed,
            "resident_note": visit.resident_note,
            # paid work
            "quote": quotes.quote,
            "quote_decided": quotes.quote_decided,
            # closing the loop
            "completed": closing.completed,
            "confirm_reminder": closing.confirm_reminder,
            "rework_resident": closing.rework_resident,
            "rework_technician": closing.rework_technician,
            "rework_supervisor": closing.rework_supervisor,
            "followup_task": closing.followup_task,
            "cancelled_technician": closing.cancelled_technician,
            "offer_cancelled": closing.offer_cancelled,
            # matters (报事)
            "matter_new": matters.matter_new,
            "matter_card": matters.matter_card,
            "matter_accepted": matters.matter_accepted,
            "matter_reply": matters.matter_reply,
            "matter_forwarded": matters.matter_forwarded,
            "matter_done": matters.matter_done,
            "matter_reopened": matters.matter_reopened,
            "matter_rejected": matters.matter_rejected,
            "matter_escalate_manager": matters.matter_escalate_manager,
            "matter_late_resident": matters.matter_late_resident,
            "matter_late_manager": matters.matter_late_manager,
            "converted": matters.converted,
            # incidents and patrol finds
            "incident_joined": incident_notices.incident_joined,
            "incident_progress": incident_notices.incident_progress,
            "offer_linked": incident_notices.offer_linked,
            "patrol_check": incident_notices.patrol_check,
            "patrol_checked": incident_notices.patrol_checked,
        },
        ticketless={
            # scheduled digests (dispatch/digests.py)
            "digest_daily": digests.digest_daily,
            "digest_weekly": digests.digest_weekly,
        },
    )
