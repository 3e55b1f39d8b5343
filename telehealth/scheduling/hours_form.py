"""The weekly hours form: the typed values as the page shows them, the blocks they mean, and
"copy Monday to the weekdays".

Pure (no I/O): the page hands it the posted text. A refused form is drawn again from the typed
rows, never from what is stored, so nothing the person typed is lost; the refusal names the
field it is about (``details["field"]`` is that input's id), so the page marks that field and
not another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time

from telehealth.errors import InvalidInput
from telehealth.scheduling.availability.rules import (
    WEEKDAY_NAMES,
    WeeklyAvailability,
    WeeklyBlock,
)

BLOCKS_A_DAY = 2
# The days "copy Monday" fills: Tuesday to Friday.
WEEKDAYS_AFTER_MONDAY = (1, 2, 3, 4)
# What <input type="time" step="900"> sends ("HH:MM"; some browsers add ":00"); longer text is
# kept as typed, up to this many characters, to be shown and refused, never cut into a time.
_TIME = re.compile(r"\d{2}:\d{2}(:00)?")
_TYPED_LIMIT = 16


@dataclass(frozen=True, slots=True)
class TypedSpan:
    """One block's two fields as typed (text, possibly empty or wrong)."""

    start: str = ""
    end: str = ""


# rows[weekday][n]: the n-th block of that weekday (0 = Monday).
Rows = tuple[tuple[TypedSpan, ...], ...]


def field_id(weekday: int, n: int, end: str) -> str:
    """The id (and name) of one time field: d0_0_start is Monday's first start."""
    return f"d{weekday}_{n}_{end}"


def empty_rows() -> Rows:
    """A week without hours."""
    return tuple(tuple(TypedSpan() for _ in range(BLOCKS_A_DAY)) for _ in range(7))


def stored_rows(blocks: Sequence[tuple[int, time, time]]) -> Rows:
    """The rows for stored blocks (weekday, start, end), in order, padded to the form's size."""
    days: list[list[TypedSpan]] = [[] for _ in range(7)]
    for weekday, start, end in blocks:
        days[weekday].append(TypedSpan(f"{start:%H:%M}", f"{end:%H:%M}"))
    return tuple(tuple(d + [TypedSpan()] * (BLOCKS_A_DAY - len(d))) for d in days)


def typed_rows(get: Callable[[str], str]) -> Rows:
    """The rows as posted; get(name) returns a field's text ("" when absent)."""
    return tuple(
        tuple(
            TypedSpan(
                get(field_id(weekday, n, "start")).strip()[:_TYPED_LIMIT],
                get(field_id(weekday, n, "end")).strip()[:_TYPED_LIMIT],
            )
            for n in range(BLOCKS_A_DAY)
        )
        for weekday in range(7)
    )


def copy_monday(rows: Rows) -> Rows:
    """Monday's blocks, as typed, on Tuesday to Friday too; the weekend is kept."""
    return tuple(
        rows[0] if weekday in WEEKDAYS_AFTER_MONDAY else spans for weekday, spans in enumerate(rows)
    )


def _refuse(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, details={"field": field})


def _time(text: str, weekday: int, n: int, end: str) -> time:
    day = WEEKDAY_NAMES[weekday]
    if not text:
        which = "an end" if end == "end" else "a start"
        raise _refuse(
            f"{day}: give {which} time too, or leave both empty.", field_id(weekday, n, end)
        )
    try:
        value = time.fromisoformat(text) if _TIME.fullmatch(text) else None
    except ValueError:
        value = None
    if value is None:
        raise _refuse(
            f"{day}: {text!r} is not a time. Please write it as 09:00.", field_id(weekday, n, end)
        )
    return value


def blocks_of(rows: Rows) -> list[WeeklyBlock]:
    """The weekly blocks the rows mean; InvalidInput naming the first wrong field."""
    blocks: list[WeeklyBlock] = []
    for weekday, spans in enumerate(rows):
        day: list[WeeklyBlock] = []
        for n, span in enumerate(spans):
            if not (span.start or span.end):
                continue
            start = _time(span.start, weekday, n, "start")
            end = _time(span.end, weekday, n, "end")
            if start >= end:
                raise _refuse(
                    f"{WEEKDAY_NAMES[weekday]}: the end, {end:%H:%M}, must be after the start,"
                    f" {start:%H:%M}.",
                    field_id(weekday, n, "end"),
                )
            day.append(WeeklyBlock(weekday, start, end))
        try:
            # The day's own rules (no overlaps); the zone is checked when the whole week is saved.
            WeeklyAvailability(zone="UTC", blocks=tuple(day))
        except InvalidInput:
            last = max(n for n, s in enumerate(spans) if s.start or s.end)
            raise _refuse(
                f"{WEEKDAY_NAMES[weekday]}: the two blocks overlap. Please make the second"
                " start after the first ends.",
                field_id(weekday, last, "start"),
            ) from None
        blocks.extend(day)
    return blocks
