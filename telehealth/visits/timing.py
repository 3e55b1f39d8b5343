"""How the pages say when a visit room opens: "today at 9:45 AM", "in about 3 hours".

People read these on a phone before a visit; "in about 5723 minutes" or a bare "Tue 08:45" a
week early makes them ask the clinic. Days are named relative to the reader's own day, in their
time zone; the clock is 12-hour where their language uses it (http/locale.py decides).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telehealth.time_words import clock


def until(delta: timedelta) -> str:
    """How long until something, as people say it: "in 12 minutes", "in about 3 hours",
    "in about 2 days" (minutes counted up, so "in 1 minute" until it is due)."""
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    if minutes < 60:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    if hours < 24:
        return f"in about {hours} hour{'s' if hours != 1 else ''}"
    days = round(minutes / (24 * 60))
    return f"in about {days} day{'s' if days != 1 else ''}"


def day_and_time(instant: datetime, now: datetime, zone: str, hour12: bool) -> str:
    """ "today at 9:45 AM", "tomorrow at 9:45 AM" or "on Tuesday 8 December at 9:45 AM",
    the day named from `now` in `zone`."""
    tz = ZoneInfo(zone)
    local, today = instant.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        day = "today"
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"on {local:%A} {local.day} {local:%B}"
    return f"{day} at {clock(local, hour12)}"


def opens_words(opens: datetime, now: datetime, zone: str, hour12: bool) -> str:
    """When a room opens, both ways: "today at 9:45 AM (in about 3 hours)"."""
    return f"{day_and_time(opens, now, zone, hour12)} ({until(opens - now)})"
