"""How a page writes a time of day for its reader: "8:15 PM" or "20:15".

Which clock a reader reads is decided from their browser's languages (http/locale.py); every page
gets it as ``hour12``. These functions live below the features because scheduling, visits, notes
and the admin pages all write times, and none of them may import another for it.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

# Ranges are joined by an en dash, as print writes them ("8:15\u20139:00 PM").
DASH = "\u2013"


def _twelve_hour(local: datetime | time) -> tuple[str, str]:
    """The hour and minutes on a 12-hour clock, and which half of the day: ("8:15", "PM")."""
    return f"{local.hour % 12 or 12}:{local:%M}", "AM" if local.hour < 12 else "PM"


def clock(local: datetime | time, hour12: bool) -> str:
    """A time of day: "9:45 AM" or "09:45"."""
    if not hour12:
        return f"{local:%H:%M}"
    return " ".join(_twelve_hour(local))


def local_clock(instant: datetime, zone: str, hour12: bool) -> str:
    """An instant's time of day in a zone: "2:00 PM" or "14:00"."""
    return clock(instant.astimezone(ZoneInfo(zone)), hour12)


def clock_range(start: datetime | time, end: datetime | time, hour12: bool) -> str:
    """From one time of day to another: "8:15-9:00 PM", "11:30 AM - 12:15 PM" or "20:15-21:00"
    (with an en dash where these show a hyphen).

    A 12-hour range names its half of the day once when both ends share it, as people write it;
    when the ends differ each carries its own, and the dash is spaced so that "AM-12" does not
    read as one word.
    """
    if not hour12:
        return f"{clock(start, False)}{DASH}{clock(end, False)}"
    (first, first_half), (last, last_half) = _twelve_hour(start), _twelve_hour(end)
    if first_half == last_half:
        return f"{first}{DASH}{last} {last_half}"
    return f"{first} {first_half} {DASH} {last} {last_half}"
