"""Request validation: naive times, reversed and absurd ranges, past times, granularity."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from telehealth.errors import InvalidInput
from telehealth.scheduling.validation import (
    ensure_utc,
    validate_future_start,
    validate_granularity,
    validate_range,
    validate_search_range,
)

from .helpers import NEW_YORK, utc

NOW = utc(2026, 6, 1, 12)


def test_ensure_utc_converts_and_refuses_naive() -> None:
    assert ensure_utc(datetime(2026, 6, 1, 8, tzinfo=NEW_YORK), "start") == utc(2026, 6, 1, 12)
    with pytest.raises(InvalidInput, match="start must carry a time zone") as error:
        ensure_utc(datetime(2026, 6, 1, 8), "start")
    assert error.value.details == {"field": "start"}


def test_range_must_end_after_start() -> None:
    with pytest.raises(InvalidInput, match="must end after it starts"):
        validate_range(utc(2026, 6, 2), utc(2026, 6, 1))
    with pytest.raises(InvalidInput, match="must end after it starts"):
        validate_range(utc(2026, 6, 1), utc(2026, 6, 1))


def test_search_range_rules() -> None:
    assert validate_search_range(utc(2026, 6, 1), utc(2026, 9, 2), now=NOW) == (
        utc(2026, 6, 1),
        utc(2026, 9, 2),
    )
    with pytest.raises(InvalidInput, match=r"at most 93 days, got 94\.0 days"):
        validate_search_range(utc(2026, 6, 1), utc(2026, 9, 3), now=NOW)
    with pytest.raises(InvalidInput, match="entirely in the past"):
        validate_search_range(utc(2026, 5, 1), utc(2026, 6, 1, 12), now=NOW)
    with pytest.raises(InvalidInput, match=r"search range\.end must carry a time zone"):
        validate_search_range(utc(2026, 6, 1), datetime(2026, 6, 2), now=NOW)


def test_future_start() -> None:
    assert validate_future_start(NOW, now=NOW) == NOW
    with pytest.raises(InvalidInput, match="is in the past"):
        validate_future_start(NOW - timedelta(seconds=1), now=NOW)


@pytest.mark.parametrize("minutes", [5, 10, 15, 20, 30, 60, 120])
def test_granularities_that_divide_a_day(minutes: int) -> None:
    assert validate_granularity(timedelta(minutes=minutes)) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "step",
    [timedelta(0), timedelta(minutes=-15), timedelta(minutes=7), timedelta(seconds=90)],
)
def test_bad_granularities(step: timedelta) -> None:
    with pytest.raises(InvalidInput, match="whole number of minutes dividing 24 hours"):
        validate_granularity(step)
