"""Planned maintenance: assets' calendars open tickets, technicians answer checklists, failures open repairs.

`rules` the names and keys, `calendar` the schedules the timer sweep fires, `work` opening and chasing a
planned ticket, `checklist` the technician's answers, `outlook` what is due this week and what was missed.
"""
