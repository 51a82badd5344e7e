"""The site file: the communities served, their buildings, repair categories, urgencies and tips.

`model` holds the things, `load` reads a site file into them, `parse` has the typed readers, durations and
text matching they use, `demo` the demo community's staff.
"""

from dispatch.site.load import DEMO_SOURCE, load_site, parse_site
from dispatch.site.model import (
    Building,
    Category,
    Community,
    OfferMode,
    Scope,
    Site,
    Suggestion,
    Tip,
    Unit,
    Urgency,
    localized,
)
from dispatch.site.parse import SiteError, format_duration, is_english, normalize_room, parse_duration

__all__ = [
    "DEMO_SOURCE",
    "Building",
    "Category",
    "Community",
    "OfferMode",
    "Scope",
    "Site",
    "SiteError",
    "Suggestion",
    "Tip",
    "Unit",
    "Urgency",
    "format_duration",
    "is_english",
    "load_site",
    "localized",
    "normalize_room",
    "parse_duration",
    "parse_site",
]
