"""Local wall time -> UTC on the 2026 DST transitions of New York and London."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from telehealth.errors import InvalidInput
from telehealth.scheduling.localtime import (
    first_offset_change,
    local_day_start,
    local_to_utc,
    resolve_zone,
)

from .helpers import LONDON, NEW_YORK, utc


@pytest.mark.parametrize(
    ("day", "wall", "expected"),
    [
        # New York: EST (UTC-5) until 2026-03-08 02:00, EDT (UTC-4) until 2026-11-01 02:00.
        (date(2026, 3, 6), time(9), utc(2026, 3, 6, 14)),
        (date(2026, 3, 9), time(9), utc(2026, 3, 9, 13)),
        (date(2026, 3, 8), time(1, 59), utc(2026, 3, 8, 6, 59)),
        (date(2026, 3, 8), time(3), utc(2026, 3, 8, 7)),
        (date(2026, 10, 31), time(9), utc(2026, 10, 31, 13)),
        (date(2026, 11, 2), time(9), utc(2026, 11, 2, 14)),
        (date(2026, 11, 1), time(2), utc(2026, 11, 1, 7)),
    ],
)
def test_new_york_wall_times(day: date, wall: time, expected: datetime) -> None:
    assert local_to_utc(day, wall, NEW_YORK) == expected


@pytest.mark.parametrize(
    ("day", "wall", "expected"),
    [
        # London: GMT until 2026-03-29 01:00, BST (UTC+1) until 2026-10-25 02:00.
        (date(2026, 3, 27), time(9), utc(2026, 3, 27, 9)),
        (date(2026, 3, 30), time(9), utc(2026, 3, 30, 8)),
        (date(2026, 10, 23), time(9), utc(2026, 10, 23, 8)),
        (date(2026, 10, 26), time(9), utc(2026, 10, 26, 9)),
    ],
)
def test_london_wall_times(day: date, wall: time, expected: datetime) -> None:
    assert local_to_utc(day, wall, LONDON) == expected


@pytest.mark.parametrize(
    ("zone", "day", "wall", "transition"),
    [
        (NEW_YORK, date(2026, 3, 8), time(2), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(2, 59), utc(2026, 3, 8, 7)),
        (LONDON, date(2026, 3, 29), time(1), utc(2026, 3, 29, 1)),
        (LONDON, date(2026, 3, 29), time(1, 45), utc(2026, 3, 29, 1)),
    ],
)
def test_wall_time_in_spring_gap_maps_to_the_transition(
    zone: ZoneInfo, day: date, wall: time, transition: datetime
) -> None:
    assert local_to_utc(day, wall, zone) == transition


@pytest.mark.parametrize(
    ("zone", "day", "wall", "first"),
    [
        # 01:30 happens twice; the first pass is still on daylight time.
        (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        (NEW_YORK, date(2026, 11, 1), time(1), utc(2026, 11, 1, 5)),
        (LONDON, date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_ambiguous_wall_time_is_its_first_occurrence(
    zone: ZoneInfo, day: date, wall: time, first: datetime
) -> None:
    assert local_to_utc(day, wall, zone) == first


def test_first_offset_change_finds_the_exact_instant() -> None:
    assert first_offset_change(utc(2026, 3, 8), utc(2026, 3, 9), NEW_YORK) == utc(2026, 3, 8, 7)
    assert first_offset_change(utc(2026, 10, 25), utc(2026, 10, 26), LONDON) == utc(2026, 10, 25, 1)
    assert first_offset_change(utc(2026, 3, 9), utc(2026, 3, 10), NEW_YORK) is None


def test_local_day_start() -> None:
    assert local_day_start(date(2026, 3, 8), NEW_YORK) == utc(2026, 3, 8, 5)
    assert local_day_start(date(2026, 3, 9), NEW_YORK) == utc(2026, 3, 9, 4)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus_Mons", "../etc/passwd", "/etc/localtime", "EST 5"]
)
def test_resolve_zone_refuses_non_iana_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        resolve_zone(name)


def test_resolve_zone_accepts_iana_names() -> None:
    assert resolve_zone("America/New_York") is NEW_YORK
    assert resolve_zone("America/Argentina/Buenos_Aires").key == "America/Argentina/Buenos_Aires"


def test_local_wall_time_must_be_naive() -> None:
    with pytest.raises(InvalidInput, match="must not carry"):
        local_to_utc(date(2026, 1, 5), time(9, tzinfo=NEW_YORK), NEW_YORK)
