"""Half-open UTC intervals, the overlap predicate and the interval an appointment blocks.

Every interval is ``[start, end)``: an appointment ending at 10:00 and one starting at 10:00 do not
overlap. ``blocked_interval`` widens an appointment by its type's buffers; two appointments of one
therapist may coexist exactly when their blocked intervals do not overlap. The database enforces
the same rule later (an exclusion constraint over the blocked range, ``[)`` bounds), so the slot
search, the booking check and the constraint can never disagree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import AppointmentType


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A non-empty half-open span of time [start, end), held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise InvalidInput("interval bounds must be timezone-aware")
        if self.start.tzinfo is not UTC:
            object.__setattr__(self, "start", self.start.astimezone(UTC))
        if self.end.tzinfo is not UTC:
            object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise InvalidInput(
                f"an interval must end after it starts ({self.start.isoformat()}"
                f" .. {self.end.isoformat()})"
            )

    @property
    def duration(self) -> timedelta:
        """Length of the interval."""
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """Whether the two half-open intervals share at least one instant."""
        return overlaps(self.start, self.end, other.start, other.end)

    def contains(self, other: Interval) -> bool:
        """Whether other lies wholly inside this interval."""
        return self.start <= other.start and other.end <= self.end


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """The one overlap predicate: [a_start, a_end) and [b_start, b_end) share an instant."""
    return a_start < b_end and b_start < a_end


def blocked_interval(start: datetime, end: datetime, appointment_type: AppointmentType) -> Interval:
    """Return the interval an appointment occupies: [start - buffer_before, end + buffer_after)."""
    return Interval(start - appointment_type.buffer_before, end + appointment_type.buffer_after)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the union as sorted, disjoint intervals; touching ones are joined."""
    # A key of plain tuples sorts in C; the dataclass's generated __lt__ would run Python per step.
    ordered = sorted(intervals, key=_bounds)
    merged: list[Interval] = []
    for current in ordered:
        if merged and current.start <= merged[-1].end:
            if current.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, current.end)
        else:
            merged.append(current)
    return merged


def subtract(base: Sequence[Interval], removed: Sequence[Interval]) -> list[Interval]:
    """Return base minus removed; both must be sorted and disjoint (as ``merge`` returns them)."""
    result: list[Interval] = []
    j = 0
    for piece in base:
        cursor = piece.start
        # Skip removals that end before this piece; they cannot touch later pieces either.
        while j < len(removed) and removed[j].end <= cursor:
            j += 1
        k = j
        while k < len(removed) and removed[k].start < piece.end:
            hole = removed[k]
            if hole.start > cursor:
                result.append(Interval(cursor, hole.start))
            if hole.end > cursor:
                cursor = hole.end
            if cursor >= piece.end:
                break
            k += 1
        if cursor < piece.end:
            result.append(Interval(cursor, piece.end))
    return result


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """Return the parts of intervals that fall inside window, in input order."""
    clipped: list[Interval] = []
    for iv in intervals:
        start, end = max(iv.start, window.start), min(iv.end, window.end)
        if start < end:
            clipped.append(iv if (start, end) == (iv.start, iv.end) else Interval(start, end))
    return clipped


def find_overlap(disjoint: Sequence[Interval], probe: Interval) -> Interval | None:
    """Return an interval of a sorted disjoint sequence overlapping probe, if any (bisect)."""
    # The candidate is the last interval starting before probe.end; earlier ones end even earlier.
    index = bisect_left(disjoint, probe.end, key=_start) - 1
    if index >= 0 and disjoint[index].overlaps(probe):
        return disjoint[index]
    return None


def _bounds(interval: Interval) -> tuple[datetime, datetime]:
    return interval.start, interval.end


def _start(interval: Interval) -> datetime:
    return interval.start
