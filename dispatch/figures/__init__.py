"""Figures for the office: counts, times, promises kept, fixes, satisfaction, technicians, hotspots and
recurring faults, for a scope (community, areas, technician) over a period of local days.

Plain queries on the ticket event log (load.py), computed in report.py; periods.py reads what people type,
scope.py says whose tickets count.
"""

from dispatch.figures.periods import Period, PeriodError
from dispatch.figures.report import Report, build
from dispatch.figures.scope import Scope, may_view, narrow, scope_of

__all__ = ["Period", "PeriodError", "Report", "Scope", "build", "may_view", "narrow", "scope_of"]
