"""IANA time zone names: the one check every accepted zone goes through (API, pages, settings).

``ZoneInfo(name)`` alone is not a check: it opens ``name`` below the tz database folders, so
"America" or "Etc" (folders) raise IsADirectoryError, and "../x" or a NUL reach the file system.
A name is accepted only when it is in ``zoneinfo.available_timezones()`` (read once).
"""

from __future__ import annotations

import functools
import zoneinfo
from zoneinfo import ZoneInfo

from telehealth.errors import InvalidInput

MAX_ZONE_LENGTH = 64
# The zones the pages offer in pickers (a person's own is added when it is not among them); any
# IANA name also works through the API.
COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
)

# In some tz folders but not zones a person lives in: the machine's own setting and placeholders.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def known_zones() -> frozenset[str]:
    """Every zone name the tz database on this machine (or the tzdata package) holds."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def is_zone_name(name: object) -> bool:
    """Whether name is a known IANA zone name such as 'America/New_York' (never a folder or path)."""
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_LENGTH and name in known_zones()


def zone_problem(name: object) -> str:
    """The message a person reads when name is not a zone."""
    return f"unknown time zone {name!r}; use an IANA name such as 'America/New_York' or 'Europe/London'"


def resolve_zone(name: str, field: str = "zone") -> ZoneInfo:
    """The ZoneInfo of a known zone name, or InvalidInput (422) naming field."""
    if not is_zone_name(name):
        raise InvalidInput(zone_problem(name), details={"field": field})
    return ZoneInfo(name)
