"""Plan-of-care series: a weekly wall-clock rule -> UTC occurrences, conflicts and alternatives.

"Twice a week for 6 weeks, Tuesday and Thursday 10:00" is a ``SeriesRule`` in one IANA zone (the
therapist's or the patient's; the caller chooses). Each occurrence is that wall time on its local
date, converted with ``localtime.local_to_utc``, so it stays 10:00 local across DST changes (a
wall time inside a spring-forward gap becomes the first instant after the gap, an ambiguous one its
first occurrence). The rule covers the ``weeks * 7`` local days from ``first_day`` on, so any start
weekday yields ``weeks * len(weekdays)`` occurrences.

``plan_series`` checks every occurrence with ``slots.booking_problems``. For each one that cannot be
booked it proposes up to ``max_alternatives`` free slots on the same local day or within
``alternative_days`` days either side, nearest to the requested start first. Alternatives never fall
on a local day that already holds another occurrence of the series (two therapy visits on one day
is not a plan of care), and they avoid the bookable occurrences, which count as busy. Alternatives
of different conflicting occurrences may coincide; the booking re-checks each one anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import AppointmentType
from telehealth.scheduling.localtime import local_date, local_day_start, local_to_utc, resolve_zone
from telehealth.scheduling.overlap import Interval, blocked_interval
from telehealth.scheduling.slots import (
    DEFAULT_GRANULARITY,
    BookingProblem,
    Slot,
    booking_problems,
    find_slots,
)

MAX_WEEKS = 26
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """Weekly visits at one local wall time on given weekdays (0 = Monday) for a number of weeks."""

    weekdays: frozenset[int]
    wall_time: time
    zone: str
    first_day: date
    weeks: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekdays):
            raise InvalidInput(
                "a series needs at least one weekday, each 0 (Monday) to 6 (Sunday)",
                details={"field": "weekdays"},
            )
        if self.wall_time.tzinfo is not None:
            raise InvalidInput("the series time is a local wall-clock time without a zone")
        if self.wall_time.second or self.wall_time.microsecond:
            raise InvalidInput("the series time must be whole minutes", details={"field": "time"})
        resolve_zone(self.zone)
        if not isinstance(self.weeks, int) or not 1 <= self.weeks <= MAX_WEEKS:
            raise InvalidInput(
                f"a series lasts 1 to {MAX_WEEKS} weeks, got {self.weeks!r}",
                details={"field": "weeks"},
            )

    @property
    def tz(self) -> ZoneInfo:
        """The zone the wall time is read in."""
        return resolve_zone(self.zone)

    def local_days(self) -> list[date]:
        """The local dates of the occurrences, in order."""
        days = (self.first_day + _DAY * offset for offset in range(self.weeks * 7))
        return [day for day in days if day.weekday() in self.weekdays]


def series_occurrences(rule: SeriesRule) -> list[datetime]:
    """Return the UTC start of every occurrence of the rule, in order."""
    zone = rule.tz
    return [local_to_utc(day, rule.wall_time, zone) for day in rule.local_days()]


def series_window(rule: SeriesRule, alternative_days: int = 1) -> tuple[datetime, datetime]:
    """Return the UTC range whose availability and bookings ``plan_series`` needs."""
    days = rule.local_days()
    zone = rule.tz
    return (
        local_day_start(days[0] - _DAY * alternative_days, zone),
        local_day_start(days[-1] + _DAY * (alternative_days + 1), zone),
    )


@dataclass(frozen=True, slots=True)
class PlannedOccurrence:
    """One occurrence of a series: when, what stops it, and free alternatives if anything does."""

    local_day: date
    start: datetime
    end: datetime
    problems: tuple[BookingProblem, ...]
    alternatives: tuple[Slot, ...]

    @property
    def bookable(self) -> bool:
        """Whether the occurrence can be booked as requested."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """Every occurrence of a series, split by whether it can be booked as requested."""

    occurrences: tuple[PlannedOccurrence, ...]

    @property
    def bookable(self) -> tuple[PlannedOccurrence, ...]:
        """Occurrences that can be booked as requested."""
        return tuple(o for o in self.occurrences if o.bookable)

    @property
    def conflicting(self) -> tuple[PlannedOccurrence, ...]:
        """Occurrences that cannot, each with its proposed alternatives."""
        return tuple(o for o in self.occurrences if not o.bookable)


def plan_series(
    rule: SeriesRule,
    *,
    appointment_type: AppointmentType,
    availability: Sequence[Interval],
    busy: Iterable[Interval],
    now: datetime,
    align_zone: ZoneInfo,
    viewer_zone: ZoneInfo,
    granularity: timedelta = DEFAULT_GRANULARITY,
    max_alternatives: int = 3,
    alternative_days: int = 1,
) -> SeriesPlan:
    """Split a series into bookable and conflicting occurrences, proposing alternatives."""
    if not 0 <= max_alternatives <= 10 or not 0 <= alternative_days <= 3:
        raise InvalidInput("alternatives: at most 10 slots within at most 3 days either side")
    zone = rule.tz
    busy = list(busy)
    days = rule.local_days()
    starts = [local_to_utc(day, rule.wall_time, zone) for day in days]
    checked = [
        (
            day,
            start,
            booking_problems(
                start=start,
                appointment_type=appointment_type,
                availability=availability,
                busy=busy,
                now=now,
            ),
        )
        for day, start in zip(days, starts, strict=True)
    ]
    taken = busy + [
        blocked_interval(start, start + appointment_type.duration, appointment_type)
        for _, start, problems in checked
        if not problems
    ]
    series_days = frozenset(days)
    planned: list[PlannedOccurrence] = []
    for day, start, problems in checked:
        alternatives: tuple[Slot, ...] = ()
        if problems and max_alternatives:
            candidates = find_slots(
                appointment_type=appointment_type,
                availability=availability,
                busy=taken,
                now=now,
                window_start=local_day_start(day - _DAY * alternative_days, zone),
                window_end=local_day_start(day + _DAY * (alternative_days + 1), zone),
                align_zone=align_zone,
                viewer_zone=viewer_zone,
                granularity=granularity,
            )
            others = series_days - {day}
            candidates = [s for s in candidates if local_date(s.start, zone) not in others]
            candidates.sort(key=lambda s: (abs(s.start - start), s.start))
            alternatives = tuple(candidates[:max_alternatives])
        planned.append(
            PlannedOccurrence(
                local_day=day,
                start=start,
                end=start + appointment_type.duration,
                problems=problems,
                alternatives=alternatives,
            )
        )
    return SeriesPlan(tuple(planned))
