"""Local wall-clock time -> UTC instants: the one place that decides what DST does to a rule.

Availability blocks and series are written in a therapist's (or patient's) local wall-clock time
with an IANA zone, and every booking is stored as a UTC instant. ``local_to_utc`` is the single
conversion, and it decides the two awkward cases once for the whole package:

* **Non-existent wall time** (spring-forward gap, e.g. 02:30 on 2026-03-08 in New York): it maps to
  the transition instant, i.e. the first instant that exists after it (03:00 local daylight time).
  Applied to both ends of a block this means the part of a block inside the gap is simply dropped
  (a 02:00-04:00 block lasts one real hour that night) and a block wholly inside the gap is empty.
* **Ambiguous wall time** (fall-back overlap, e.g. 01:30 on 2026-11-01 in New York): it means its
  first occurrence (``fold=0``, still on daylight time). A 01:00-01:30 block therefore happens once,
  in the first pass through that half hour, never twice.

Everything outside those two cases has exactly one UTC instant, so a 09:00 block stays 09:00 local
on both sides of a transition while its UTC offset changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telehealth import zones
from telehealth.errors import InvalidInput

_SECOND = timedelta(seconds=1)


def resolve_zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA zone name, or raise InvalidInput for anything else."""
    return zones.resolve_zone(name, "zone")


def utc_offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    """Return the UTC offset that zone has at an aware instant."""
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers for an aware datetime
    return offset


def first_offset_change(after: datetime, until: datetime, zone: ZoneInfo) -> datetime | None:
    """Return the first instant in (after, until] where zone's offset differs from that at after."""
    base = utc_offset(after, zone)
    if utc_offset(until, zone) == base:
        # Assumes at most one change in the span; callers keep spans to a day or less.
        return None
    low, high = after, until
    # Transitions fall on whole seconds, so bisect on the whole-second grid.
    while True:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle <= low:
            middle = low.replace(microsecond=0) + _SECOND
        if middle >= high:
            return high
        if utc_offset(middle, zone) == base:
            low = middle
        else:
            high = middle


def local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of a local wall time on a local date (gap -> transition, fold=0)."""
    if wall.tzinfo is not None:
        raise InvalidInput("a local wall-clock time must not carry its own time zone")
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap fold=0 applies the offset from before the transition (landing after it) and fold=1
    # the offset from after it (landing before it); the transition lies between the two.
    earlier = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    change = first_offset_change(earlier, instant, zone)
    return instant if change is None else change


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """Return the local calendar date of an aware instant in zone."""
    return instant.astimezone(zone).date()


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which a local date begins in zone."""
    return local_to_utc(day, time(0), zone)
