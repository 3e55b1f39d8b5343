"""Free-slot search and the single-booking check, both over sorted interval sweeps.

Inputs are UTC intervals: the therapist's availability (``availability.expand``) and the blocked
intervals of the appointments already booked (``overlap.blocked_interval``, each with *its own*
type's buffers). A slot for a type is a start ``s`` whose blocked interval
``[s - buffer_before, s + duration + buffer_after)`` lies inside availability and overlaps no busy
interval, with ``min_notice <= s - now <= booking_horizon``.

Slot starts are aligned to the granularity on the therapist's local clock (every quarter hour by
default: 09:00, 09:15 ... local, whichever UTC offset applies that day, including zones with
half-hour offsets). The search costs O((A + B) log(A + B) + S) for A availability intervals,
B busy intervals and S slots: busy intervals are merged once and subtracted in one sweep.

``booking_problems`` checks one requested start with the same definitions and reports every rule
it breaks, so a service may decide that staff bookings skip the notice rule while patients may not;
the start of a direct booking is not required to sit on the slot grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput
from telehealth.scheduling.appointment_types import AppointmentType
from telehealth.scheduling.localtime import first_offset_change, utc_offset
from telehealth.scheduling.overlap import Interval, merge, subtract
from telehealth.scheduling.validation import (
    DAY,
    MAX_SEARCH_SPAN,
    ensure_utc,
    validate_granularity,
    validate_range,
)

DEFAULT_GRANULARITY = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable visit: UTC start and end (buffers excluded) and the same in the viewer's zone."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime


class BookingProblem(StrEnum):
    """A rule a requested start breaks."""

    TOO_SOON = "too_soon"
    BEYOND_HORIZON = "beyond_horizon"
    OUTSIDE_AVAILABILITY = "outside_availability"
    BUSY = "busy"


def _align_up(instant: datetime, offset: timedelta, step: timedelta) -> datetime:
    # The epoch is a UTC midnight and step divides a day, so "a multiple of step after local
    # midnight" is "UTC microseconds plus the offset, divisible by step".
    local_micros = (instant - _EPOCH + offset) // _MICRO
    return instant + _MICRO * ((-local_micros) % (step // _MICRO))


def aligned_starts(
    low: datetime, high: datetime, step: timedelta, zone: ZoneInfo
) -> list[datetime]:
    """Return the instants in [low, high] whose wall time in zone is a multiple of step."""
    starts: list[datetime] = []
    cursor = low
    while cursor <= high:
        # Spans of at most a day hold at most one offset change; within a span of one offset
        # the aligned instants are a plain arithmetic progression.
        span_end = min(high, cursor + DAY)
        change = first_offset_change(cursor, span_end, zone)
        stop = change if change is not None else span_end + _MICRO
        candidate = _align_up(cursor, utc_offset(cursor, zone), step)
        while candidate < stop:
            starts.append(candidate)
            candidate += step
        cursor = stop
    return starts


def _relevant(intervals: Iterable[Interval], low: datetime, high: datetime) -> list[Interval]:
    return [iv for iv in intervals if iv.start < high and low < iv.end]


def find_slots(
    *,
    appointment_type: AppointmentType,
    availability: Iterable[Interval],
    busy: Iterable[Interval],
    now: datetime,
    window_start: datetime,
    window_end: datetime,
    align_zone: ZoneInfo,
    viewer_zone: ZoneInfo,
    granularity: timedelta = DEFAULT_GRANULARITY,
    limit: int | None = None,
) -> list[Slot]:
    """Return the free slots of a type starting in [window_start, window_end), earliest first."""
    validate_granularity(granularity)
    window_start, window_end = validate_range(window_start, window_end, field="search range")
    if window_end - window_start > MAX_SEARCH_SPAN:
        raise InvalidInput(
            f"the search range may span at most {MAX_SEARCH_SPAN.days} days",
            details={"field": "search range"},
        )
    if limit is not None and limit < 1:
        raise InvalidInput("limit must be at least 1", details={"field": "limit"})
    now = ensure_utc(now, "now")
    t = appointment_type
    earliest = max(window_start, now + t.min_notice)
    latest = min(window_end - _MICRO, now + t.booking_horizon)
    if earliest > latest:
        return []
    # Only intervals that can touch a blocked interval of a start in [earliest, latest] matter.
    low, high = earliest - t.buffer_before, latest + t.duration + t.buffer_after
    free = subtract(merge(_relevant(availability, low, high)), merge(_relevant(busy, low, high)))
    slots: list[Slot] = []
    for piece in free:
        first = max(piece.start + t.buffer_before, earliest)
        last = min(piece.end - t.duration - t.buffer_after, latest)
        if first > last:
            continue
        for start in aligned_starts(first, last, granularity, align_zone):
            end = start + t.duration
            slots.append(
                Slot(start, end, start.astimezone(viewer_zone), end.astimezone(viewer_zone))
            )
            if limit is not None and len(slots) >= limit:
                return slots
    return slots


def booking_problems(
    *,
    start: datetime,
    appointment_type: AppointmentType,
    availability: Sequence[Interval],
    busy: Iterable[Interval],
    now: datetime,
) -> tuple[BookingProblem, ...]:
    """Return every rule a booking of this type at start would break (empty when bookable)."""
    start = ensure_utc(start, "start")
    now = ensure_utc(now, "now")
    t = appointment_type
    problems: list[BookingProblem] = []
    lead = start - now
    if lead < t.min_notice:
        problems.append(BookingProblem.TOO_SOON)
    if lead > t.booking_horizon:
        problems.append(BookingProblem.BEYOND_HORIZON)
    blocked = Interval(start - t.buffer_before, start + t.duration + t.buffer_after)
    # Merged, so adjacent availability blocks count as one stretch of working time.
    if not any(piece.contains(blocked) for piece in merge(availability)):
        problems.append(BookingProblem.OUTSIDE_AVAILABILITY)
    if any(other.overlaps(blocked) for other in busy):
        problems.append(BookingProblem.BUSY)
    return tuple(problems)


def ensure_bookable(
    *,
    start: datetime,
    appointment_type: AppointmentType,
    availability: Sequence[Interval],
    busy: Iterable[Interval],
    now: datetime,
    ignore: Iterable[BookingProblem] = (),
) -> Interval:
    """Raise unless the booking is allowed; return its blocked interval for the database row."""
    skipped = frozenset(ignore)
    problems = [
        p
        for p in booking_problems(
            start=start,
            appointment_type=appointment_type,
            availability=availability,
            busy=busy,
            now=now,
        )
        if p not in skipped
    ]
    name = appointment_type.name
    details = {"problems": [p.value for p in problems]}
    if BookingProblem.TOO_SOON in problems:
        raise InvalidInput(
            f"{name} must be booked at least {_human(appointment_type.min_notice)} ahead",
            code=ErrorCode.TOO_SOON,
            details=details,
        )
    if BookingProblem.BEYOND_HORIZON in problems:
        raise InvalidInput(
            f"{name} can be booked at most {_human(appointment_type.booking_horizon)} ahead",
            code=ErrorCode.BEYOND_HORIZON,
            details=details,
        )
    if BookingProblem.BUSY in problems:
        raise Conflict(
            "that time is no longer free: it overlaps another appointment or its buffer",
            code=ErrorCode.SLOT_TAKEN,
            details=details,
        )
    if BookingProblem.OUTSIDE_AVAILABILITY in problems:
        raise Conflict(
            "the therapist is not available for the whole visit at that time",
            code=ErrorCode.OUTSIDE_AVAILABILITY,
            details=details,
        )
    start = ensure_utc(start, "start")
    t = appointment_type
    return Interval(start - t.buffer_before, start + t.duration + t.buffer_after)


def _human(span: timedelta) -> str:
    if span % DAY == timedelta(0):
        days = span // DAY
        return f"{days} day{'s' if days != 1 else ''}"
    hours, rest = divmod(span, timedelta(hours=1))
    if rest == timedelta(0):
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = span // timedelta(minutes=1)
    return f"{minutes} minutes"
