"""A therapist's availability: weekly local hours, date exceptions, closures -> UTC intervals.

The rules are kept in local wall-clock time with the therapist's IANA zone, because that is how
people think about working hours ("Tuesdays 09:00-12:00"), and converted to UTC only when a range of
dates is expanded. DST handling is ``localtime.local_to_utc``'s: a block keeps its wall-clock times
across a transition, the part of a block inside a spring-forward gap is dropped, and an ambiguous
fall-back time means its first occurrence.

For each local date the expansion takes the weekly blocks of that weekday, adds the date's extra
hours, then removes the date's time off. A clinic closed date removes the whole local day,
including extra hours: closing the clinic is an admin decision that individual hours do not
override. Closed dates are read on the therapist's own calendar (a holiday is a day off wherever
the therapist works). A block lies within one local day; overnight blocks are not supported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from telehealth.errors import InvalidInput
from telehealth.scheduling.localtime import local_date, local_to_utc, resolve_zone
from telehealth.scheduling.overlap import Interval, clip, merge, subtract
from telehealth.scheduling.validation import validate_range

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = timedelta(days=1)


def _check_block(start: time, end: time, what: str) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise InvalidInput(f"{what}: times are local wall-clock times and carry no zone")
    if start.second or start.microsecond or end.second or end.microsecond:
        raise InvalidInput(f"{what}: times must be whole minutes")
    if start >= end:
        raise InvalidInput(
            f"{what}: start {start:%H:%M} must be before end {end:%H:%M}",
            details={"field": "block"},
        )


@dataclass(frozen=True, slots=True)
class WeeklyBlock:
    """Working hours on one weekday (0 = Monday, as ``date.weekday()``), local wall-clock time."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            raise InvalidInput(
                f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}",
                details={"field": "weekday"},
            )
        _check_block(self.start, self.end, f"{WEEKDAY_NAMES[self.weekday]} block")


class ExceptionKind(StrEnum):
    """What a date exception does to that day."""

    TIME_OFF = "time_off"
    EXTRA_HOURS = "extra_hours"


@dataclass(frozen=True, slots=True)
class DateException:
    """A change on one local date: time off (whole day when start/end are None) or extra hours."""

    day: date
    kind: ExceptionKind
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        # The therapist reads this on her hours page: the kind and the day as the page lists them.
        kind = "Time off" if self.kind is ExceptionKind.TIME_OFF else "Extra hours"
        what = f"{kind} on {self.day:%a %d %b %Y}"
        if (self.start is None) != (self.end is None):
            raise InvalidInput(f"{what}: give both start and end, or neither for a whole day")
        if self.start is None or self.end is None:
            if self.kind is ExceptionKind.EXTRA_HOURS:
                raise InvalidInput(f"{what}: extra hours need a start and an end")
            return
        _check_block(self.start, self.end, what)

    @property
    def whole_day(self) -> bool:
        """Whether this exception covers the whole local day."""
        return self.start is None


@dataclass(frozen=True, slots=True)
class WeeklyAvailability:
    """A therapist's working-hours rules in one IANA zone; validates itself."""

    zone: str
    blocks: tuple[WeeklyBlock, ...]
    exceptions: tuple[DateException, ...] = ()

    def __post_init__(self) -> None:
        resolve_zone(self.zone)
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "exceptions", tuple(self.exceptions))
        by_day: dict[int, list[tuple[time, time]]] = defaultdict(list)
        for block in self.blocks:
            by_day[block.weekday].append((block.start, block.end))
        for weekday, spans in by_day.items():
            _refuse_overlaps(spans, f"{WEEKDAY_NAMES[weekday]} blocks")
        extra: dict[date, list[tuple[time, time]]] = defaultdict(list)
        for exc in self.exceptions:
            if (
                exc.kind is ExceptionKind.EXTRA_HOURS
                and exc.start is not None
                and exc.end is not None
            ):
                extra[exc.day].append((exc.start, exc.end))
        for day, spans in extra.items():
            _refuse_overlaps(spans, f"extra hours on {day.isoformat()}")

    @property
    def tz(self) -> ZoneInfo:
        """The zone the rules are written in."""
        return resolve_zone(self.zone)


def _refuse_overlaps(spans: list[tuple[time, time]], what: str) -> None:
    spans.sort()
    for (a_start, a_end), (b_start, b_end) in pairwise(spans):
        if b_start < a_end:
            raise InvalidInput(
                f"{what} overlap: {a_start:%H:%M}-{a_end:%H:%M} and {b_start:%H:%M}-{b_end:%H:%M}",
                details={"field": "blocks"},
            )


# A pure function of its arguments, asked the same (date, block, zone) by every search that covers
# that date: remembered instead of redone (two zone conversions per block per day).
@lru_cache(maxsize=16_384)
def _local_interval(day: date, start: time, end: time, zone: ZoneInfo) -> Interval | None:
    utc_start, utc_end = local_to_utc(day, start, zone), local_to_utc(day, end, zone)
    # Both ends inside one spring-forward gap map to the same instant: nothing of the block exists.
    return Interval(utc_start, utc_end) if utc_start < utc_end else None


def expand(
    availability: WeeklyAvailability,
    start: datetime,
    end: datetime,
    *,
    closed_dates: Iterable[date] = (),
) -> list[Interval]:
    """Return the sorted, disjoint UTC intervals of availability within [start, end)."""
    start, end = validate_range(start, end, field="availability range")
    zone = availability.tz
    closed = frozenset(closed_dates)
    weekly: dict[int, list[WeeklyBlock]] = defaultdict(list)
    for block in availability.blocks:
        weekly[block.weekday].append(block)
    exceptions: dict[date, list[DateException]] = defaultdict(list)
    for exc in availability.exceptions:
        exceptions[exc.day].append(exc)

    pieces: list[Interval] = []
    day, last_day = local_date(start, zone), local_date(end, zone)
    while day <= last_day:
        todays = exceptions.get(day, ())
        if day not in closed and not any(
            e.kind is ExceptionKind.TIME_OFF and e.whole_day for e in todays
        ):
            spans = [(b.start, b.end) for b in weekly.get(day.weekday(), ())]
            spans += [
                (e.start, e.end)
                for e in todays
                if e.kind is ExceptionKind.EXTRA_HOURS and e.start is not None and e.end is not None
            ]
            open_ = _present(_local_interval(day, s, e, zone) for s, e in spans)
            off = _present(
                _local_interval(day, e.start, e.end, zone)
                for e in todays
                if e.kind is ExceptionKind.TIME_OFF and e.start is not None and e.end is not None
            )
            # subtract() needs sorted, disjoint inputs; a day without time off needs no merge of
            # its own, the final merge of every piece gives the same union.
            pieces.extend(subtract(merge(open_), merge(off)) if off else open_)
        day += _DAY
    return merge(clip(pieces, Interval(start, end)))


def _present(items: Iterable[Interval | None]) -> list[Interval]:
    return [iv for iv in items if iv is not None]


def total_duration(intervals: Sequence[Interval]) -> timedelta:
    """Sum of the lengths of disjoint intervals."""
    return sum((iv.duration for iv in intervals), timedelta(0))
