"""The weekly hours form's reading and copying, without a server."""

from __future__ import annotations

from datetime import time

import pytest

from telehealth.errors import InvalidInput
from telehealth.scheduling.availability.rules import WeeklyBlock
from telehealth.scheduling.hours_form import (
    TypedSpan,
    blocks_of,
    copy_monday,
    empty_rows,
    stored_rows,
    typed_rows,
)


def rows_with(**fields: str) -> tuple[tuple[TypedSpan, ...], ...]:
    return typed_rows(lambda name: fields.get(name, ""))


def refused_field(**fields: str) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        blocks_of(rows_with(**fields))
    return caught.value.details["field"], caught.value.message


def test_copy_monday_fills_tuesday_to_friday_and_keeps_the_weekend() -> None:
    rows = rows_with(
        d0_0_start="08:00", d0_0_end="12:00", d0_1_start="13:00", d0_1_end="16:00",
        d2_0_start="10:00", d2_0_end="11:00", d5_0_start="09:00", d5_0_end="10:00",
    )  # fmt: skip
    copied = copy_monday(rows)
    for weekday in (1, 2, 3, 4):
        assert copied[weekday] == rows[0]
    assert copied[5] == rows[5] and copied[6] == rows[6] and copied[0] == rows[0]
    assert blocks_of(copied).count(WeeklyBlock(3, time(13), time(16))) == 1


def test_stored_blocks_read_back_as_the_form_shows_them() -> None:
    rows = stored_rows([(0, time(9), time(12)), (0, time(13), time(17)), (4, time(8), time(9))])
    assert rows[0] == (TypedSpan("09:00", "12:00"), TypedSpan("13:00", "17:00"))
    assert rows[4] == (TypedSpan("08:00", "09:00"), TypedSpan())
    assert rows[1] == empty_rows()[1]
    assert blocks_of(rows) == [
        WeeklyBlock(0, time(9), time(12)),
        WeeklyBlock(0, time(13), time(17)),
        WeeklyBlock(4, time(8), time(9)),
    ]


def test_each_refusal_names_the_field_it_is_about() -> None:
    assert refused_field(d2_1_start="10:00") == (
        "d2_1_end",
        "Wednesday: give an end time too, or leave both empty.",
    )
    assert refused_field(d3_0_end="10:00")[0] == "d3_0_start"
    field, message = refused_field(d1_0_start="9 am", d1_0_end="10:00")
    assert field == "d1_0_start" and "'9 am' is not a time" in message
    field, message = refused_field(d4_0_start="12:00", d4_0_end="09:00")
    assert field == "d4_0_end" and "must be after the start" in message
    field, message = refused_field(
        d0_0_start="09:00", d0_0_end="12:00", d0_1_start="11:00", d0_1_end="13:00"
    )
    assert field == "d0_1_start" and "overlap" in message
    assert refused_field(d6_0_start="25:00", d6_0_end="26:00")[0] == "d6_0_start"
    assert refused_field(d6_0_start="09:00+01", d6_0_end="10:00")[0] == "d6_0_start"


def test_typed_text_is_kept_as_typed_and_empty_days_are_days_off() -> None:
    rows = rows_with(d0_0_start=" 09:00 ", d0_0_end="17:00:00")
    assert rows[0][0] == TypedSpan("09:00", "17:00:00")
    assert blocks_of(rows) == [WeeklyBlock(0, time(9), time(17))]
    assert rows_with(d0_0_start="x" * 40)[0][0].start == "x" * 16
    assert blocks_of(empty_rows()) == []
