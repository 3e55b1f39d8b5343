"""The staff calendar grids: UTC intervals of free, booked, blocked and closed time -> table cells.

Pure: the service hands in each column's intervals (free time from ``availability.rules.expand``,
the same expansion the slot search uses, so the grid never has rules of its own), and this lays
them on rows of wall-clock time in the *viewer's* zone. A row is ``STEP`` long; a row takes the
kind of what covers it, in this order: a visit, a clinic closure, time off, free (the whole row
inside working hours), else outside hours. Consecutive rows of one kind become one cell (a table
cell with a rowspan), except free time, which is cut at each half hour so every cell is a start
an admin can click. On a DST day a wall time that does not exist maps where ``local_to_utc`` puts
it, so such a row repeats its neighbour; nobody works at 02:30 on that night.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from telehealth.scheduling.availability.rules import ExceptionKind, WeeklyAvailability
from telehealth.scheduling.localtime import local_day_start, local_to_utc
from telehealth.scheduling.overlap import Interval, clip, merge

STEP = timedelta(minutes=15)
# Free time is offered in cells of this length at most, each starting on its boundary.
FREE_CELL_MINUTES = 30
# Shown when a day has no hours, visits or time off at all: a working day, so the grid has a shape.
DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE = 8 * 60, 18 * 60
_DAY = timedelta(days=1)
_STEP_MINUTES = int(STEP.total_seconds()) // 60


class CellKind(StrEnum):
    """What a stretch of a therapist's time is, as the grid shows it."""

    BOOKED = "booked"
    CLOSED = "closed"
    BLOCKED = "blocked"
    FREE = "free"
    OFF = "off"


@dataclass(frozen=True)
class Visit:
    """A visit on the grid: its UTC times and whatever the page shows of it."""

    start: datetime
    end: datetime
    item: Any


@dataclass(frozen=True)
class Column:
    """One therapist's time as UTC intervals (sorted, disjoint within each list)."""

    free: list[Interval]
    blocked: list[Interval]
    closed: list[Interval]
    visits: list[Visit] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """A run of rows of one kind; ``local_start`` is in the viewer's zone."""

    kind: CellKind
    start: datetime
    local_start: datetime
    local_end: datetime
    rows: int
    visit: Visit | None = None


def time_off(availability: WeeklyAvailability, start: datetime, end: datetime) -> list[Interval]:
    """The therapist's time off within [start, end): whole days in the therapist's own zone."""
    zone, window = availability.tz, Interval(start, end)
    spans = []
    for exc in availability.exceptions:
        if exc.kind is not ExceptionKind.TIME_OFF:
            continue
        if exc.start is None or exc.end is None:
            spans.append(
                Interval(local_day_start(exc.day, zone), local_day_start(exc.day + _DAY, zone))
            )
        else:
            low, high = local_to_utc(exc.day, exc.start, zone), local_to_utc(exc.day, exc.end, zone)
            if low < high:
                spans.append(Interval(low, high))
    return merge(clip(spans, window))


def closed_days(
    days: Iterable[date], zone: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """Clinic closures as whole local days of the therapist's zone, as the expansion reads them."""
    spans = [Interval(local_day_start(d, zone), local_day_start(d + _DAY, zone)) for d in days]
    return merge(clip(spans, Interval(start, end)))


def _minutes_of(instant: datetime, day: date, zone: ZoneInfo) -> int:
    """Minutes from the local midnight of ``day`` to ``instant`` as a wall clock reads them."""
    local = instant.astimezone(zone)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def row_minutes(days: Sequence[date], zone: ZoneInfo, columns: Sequence[Column]) -> list[int]:
    """The wall-clock rows (minutes after midnight) that cover every column's free time, visits and
    partial-day time off on ``days``, whole hours; a working day when there is nothing."""
    first, last = 24 * 60, 0
    for day in days:
        low, high = local_day_start(day, zone), local_day_start(day + _DAY, zone)
        for column in columns:
            spans = [*column.free, *(Interval(v.start, v.end) for v in column.visits)]
            spans += [b for b in column.blocked if b.duration < _DAY]
            for span in spans:
                if span.end <= low or span.start >= high:
                    continue
                first = min(first, _minutes_of(max(span.start, low), day, zone))
                last = max(last, _minutes_of(min(span.end, high), day, zone) or 24 * 60)
    if first >= last:
        first, last = DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE
    first, last = first - first % 60, min(24 * 60, last + (-last) % 60)
    return list(range(first, last, _STEP_MINUTES))


def _covers(spans: Sequence[Interval], low: datetime, high: datetime, whole: bool) -> bool:
    for span in spans:
        if whole and span.start <= low and high <= span.end:
            return True
        if not whole and span.start < high and low < span.end:
            return True
    return False


def _row(column: Column, low: datetime, high: datetime) -> tuple[CellKind, Visit | None]:
    for visit in column.visits:
        if visit.start < high and low < visit.end:
            return CellKind.BOOKED, visit
    if _covers(column.closed, low, high, whole=False):
        return CellKind.CLOSED, None
    if _covers(column.blocked, low, high, whole=False):
        return CellKind.BLOCKED, None
    if _covers(column.free, low, high, whole=True):
        return CellKind.FREE, None
    return CellKind.OFF, None


def cells(day: date, rows: Sequence[int], zone: ZoneInfo, column: Column) -> list[Cell]:
    """One column of one local day as cells, top to bottom; their rows add up to ``len(rows)``."""
    out: list[Cell] = []
    for minute in rows:
        low = local_to_utc(day, time(minute // 60, minute % 60), zone)
        high = low + STEP
        kind, visit = _row(column, low, high)
        previous = out[-1] if out else None
        joins = (
            previous is not None
            and previous.kind is kind
            and previous.visit is visit
            and not (kind is CellKind.FREE and minute % FREE_CELL_MINUTES == 0)
        )
        if previous is not None and joins:
            out[-1] = Cell(
                kind,
                previous.start,
                previous.local_start,
                high.astimezone(zone),
                previous.rows + 1,
                visit,
            )
        else:
            out.append(Cell(kind, low, low.astimezone(zone), high.astimezone(zone), 1, visit))
    return out


@dataclass(frozen=True)
class Stretch:
    """A run of cells of one kind as the narrow-screen list shows it (free time with its starts)."""

    kind: CellKind
    local_start: datetime
    local_end: datetime
    visit: Visit | None
    starts: list[Cell]


def stretches(column_cells: Sequence[Cell]) -> list[Stretch]:
    """A column's cells joined into what a list reads: free runs whole, each visit on its own,
    time outside working hours left out."""
    out: list[Stretch] = []
    for cell in column_cells:
        if cell.kind is CellKind.OFF:
            continue
        last = out[-1] if out else None
        if (
            last is not None
            and last.kind is cell.kind
            and last.visit is cell.visit
            and last.local_end == cell.local_start
        ):
            out[-1] = Stretch(
                cell.kind, last.local_start, cell.local_end, cell.visit, [*last.starts, cell]
            )
        else:
            out.append(Stretch(cell.kind, cell.local_start, cell.local_end, cell.visit, [cell]))
    return out
