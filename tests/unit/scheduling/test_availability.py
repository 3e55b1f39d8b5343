"""Weekly local hours, exceptions and closures expanded to UTC, across DST."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.errors import InvalidInput
from telehealth.scheduling.availability.rules import (
    DateException,
    ExceptionKind,
    WeeklyAvailability,
    WeeklyBlock,
    expand,
    total_duration,
)
from telehealth.scheduling.overlap import Interval

from .helpers import LONDON, utc

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def every_day(start: time, end: time, zone: str = "America/New_York") -> WeeklyAvailability:
    return WeeklyAvailability(zone, tuple(WeeklyBlock(d, start, end) for d in range(7)))


def spans(intervals: list[Interval]) -> list[tuple[datetime, datetime]]:
    return [(iv.start, iv.end) for iv in intervals]


def test_nine_stays_nine_local_across_new_york_spring_forward() -> None:
    result = expand(every_day(time(9), time(17)), utc(2026, 3, 7), utc(2026, 3, 10))
    assert spans(result) == [
        (utc(2026, 3, 7, 14), utc(2026, 3, 7, 22)),  # Saturday, EST
        (utc(2026, 3, 8, 13), utc(2026, 3, 8, 21)),  # Sunday, EDT from 02:00
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
    ]


def test_nine_stays_nine_local_across_new_york_fall_back() -> None:
    result = expand(every_day(time(9), time(17)), utc(2026, 10, 31), utc(2026, 11, 3))
    assert spans(result) == [
        (utc(2026, 10, 31, 13), utc(2026, 10, 31, 21)),
        (utc(2026, 11, 1, 14), utc(2026, 11, 1, 22)),
        (utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)),
    ]


def test_nine_stays_nine_local_across_both_london_transitions() -> None:
    weekly = every_day(time(9), time(17), "Europe/London")
    spring = expand(weekly, utc(2026, 3, 28), utc(2026, 3, 30))
    autumn = expand(weekly, utc(2026, 10, 24), utc(2026, 10, 26))
    assert spans(spring) == [
        (utc(2026, 3, 28, 9), utc(2026, 3, 28, 17)),
        (utc(2026, 3, 29, 8), utc(2026, 3, 29, 16)),
    ]
    assert spans(autumn) == [
        (utc(2026, 10, 24, 8), utc(2026, 10, 24, 16)),
        (utc(2026, 10, 25, 9), utc(2026, 10, 25, 17)),
    ]


def test_block_across_the_spring_gap_loses_the_missing_hour() -> None:
    weekly = WeeklyAvailability("America/New_York", (WeeklyBlock(SUN, time(1), time(4)),))
    result = expand(weekly, utc(2026, 3, 8), utc(2026, 3, 9))
    # 01:00 EST = 06:00Z, 04:00 EDT = 08:00Z: two real hours.
    assert spans(result) == [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))]


def test_block_starting_in_the_gap_starts_at_the_transition() -> None:
    weekly = WeeklyAvailability("America/New_York", (WeeklyBlock(SUN, time(2, 30), time(5)),))
    result = expand(weekly, utc(2026, 3, 8), utc(2026, 3, 9))
    assert spans(result) == [(utc(2026, 3, 8, 7), utc(2026, 3, 8, 9))]


def test_block_wholly_inside_the_gap_vanishes_that_day_only() -> None:
    weekly = WeeklyAvailability("Europe/London", (WeeklyBlock(SUN, time(1, 15), time(1, 45)),))
    result = expand(weekly, utc(2026, 3, 22), utc(2026, 4, 6))
    assert spans(result) == [
        (utc(2026, 3, 22, 1, 15), utc(2026, 3, 22, 1, 45)),  # GMT
        (utc(2026, 4, 5, 0, 15), utc(2026, 4, 5, 0, 45)),  # BST; 2026-03-29 has no 01:15
    ]


def test_block_in_the_ambiguous_hour_happens_once_in_the_first_pass() -> None:
    weekly = WeeklyAvailability("America/New_York", (WeeklyBlock(SUN, time(1), time(1, 30)),))
    result = expand(weekly, utc(2026, 11, 1), utc(2026, 11, 2))
    assert spans(result) == [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 30))]


def test_block_spanning_fall_back_lasts_the_real_elapsed_time() -> None:
    weekly = WeeklyAvailability("America/New_York", (WeeklyBlock(SUN, time(0), time(3)),))
    result = expand(weekly, utc(2026, 11, 1), utc(2026, 11, 2))
    # 00:00 EDT = 04:00Z to 03:00 EST = 08:00Z: the repeated hour is worked, four hours in all.
    assert spans(result) == [(utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))]
    assert total_duration(result) == timedelta(hours=4)


def test_several_blocks_exceptions_and_closures() -> None:
    weekly = WeeklyAvailability(
        "America/New_York",
        (
            WeeklyBlock(MON, time(9), time(12)),
            WeeklyBlock(MON, time(13), time(17)),
            WeeklyBlock(TUE, time(9), time(12)),
            WeeklyBlock(WED, time(9), time(12)),
        ),
        (
            DateException(date(2026, 6, 1), ExceptionKind.TIME_OFF, time(10), time(11)),
            DateException(date(2026, 6, 1), ExceptionKind.EXTRA_HOURS, time(12), time(13)),
            DateException(date(2026, 6, 2), ExceptionKind.TIME_OFF),
            DateException(date(2026, 6, 4), ExceptionKind.EXTRA_HOURS, time(18), time(20)),
            DateException(date(2026, 6, 3), ExceptionKind.EXTRA_HOURS, time(14), time(15)),
        ),
    )
    result = expand(weekly, utc(2026, 6, 1), utc(2026, 6, 6), closed_dates={date(2026, 6, 3)})
    assert spans(result) == [
        # Monday: 09-10, then 11-17 because the extra hour 12-13 joins both blocks (EDT, UTC-4).
        (utc(2026, 6, 1, 13), utc(2026, 6, 1, 14)),
        (utc(2026, 6, 1, 15), utc(2026, 6, 1, 21)),
        # Tuesday whole day off; Wednesday closed despite extra hours; Thursday extra hours only.
        (utc(2026, 6, 4, 22), utc(2026, 6, 5, 0)),
    ]


def test_expansion_is_clipped_to_the_requested_range() -> None:
    result = expand(every_day(time(9), time(17)), utc(2026, 6, 1, 15), utc(2026, 6, 1, 16, 30))
    assert spans(result) == [(utc(2026, 6, 1, 15), utc(2026, 6, 1, 16, 30))]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WeeklyBlock(MON, time(12), time(9)), "must be before end"),
        (lambda: WeeklyBlock(MON, time(9), time(9)), "must be before end"),
        (lambda: WeeklyBlock(7, time(9), time(10)), "weekday must be 0"),
        (lambda: WeeklyBlock(MON, time(9, 0, 30), time(10)), "whole minutes"),
        (lambda: WeeklyBlock(MON, time(9, tzinfo=LONDON), time(10)), "carry no zone"),
        (
            lambda: WeeklyAvailability(
                "America/New_York",
                (WeeklyBlock(TUE, time(9), time(12)), WeeklyBlock(TUE, time(11), time(14))),
            ),
            "Tuesday blocks overlap: 09:00-12:00 and 11:00-14:00",
        ),
        (lambda: WeeklyAvailability("America/Nowhere", ()), "unknown time zone"),
        (lambda: WeeklyAvailability("UTC+3", ()), "time zone"),
        (
            lambda: DateException(date(2026, 6, 1), ExceptionKind.EXTRA_HOURS),
            "extra hours need a start and an end",
        ),
        (
            lambda: DateException(date(2026, 6, 1), ExceptionKind.TIME_OFF, time(9), None),
            "give both start and end",
        ),
        (
            lambda: DateException(date(2026, 6, 1), ExceptionKind.TIME_OFF, time(12), time(9)),
            "^Time off on Mon 01 Jun 2026: start 12:00 must be before end 09:00$",
        ),
        (
            lambda: WeeklyAvailability(
                "Europe/London",
                (),
                (
                    DateException(date(2026, 6, 1), ExceptionKind.EXTRA_HOURS, time(9), time(11)),
                    DateException(date(2026, 6, 1), ExceptionKind.EXTRA_HOURS, time(10), time(12)),
                ),
            ),
            "extra hours on 2026-06-01 overlap",
        ),
    ],
)
def test_invalid_rules_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build()


def test_touching_blocks_are_allowed_and_joined() -> None:
    weekly = WeeklyAvailability(
        "Europe/London",
        (WeeklyBlock(MON, time(9), time(12)), WeeklyBlock(MON, time(12), time(13))),
    )
    assert spans(expand(weekly, utc(2026, 1, 5), utc(2026, 1, 6))) == [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 13))
    ]


def test_expand_refuses_reversed_or_naive_ranges() -> None:
    with pytest.raises(InvalidInput, match="must end after it starts"):
        expand(every_day(time(9), time(17)), utc(2026, 6, 2), utc(2026, 6, 1))
    with pytest.raises(InvalidInput, match="time zone"):
        expand(every_day(time(9), time(17)), datetime(2026, 6, 1), utc(2026, 6, 2))


# Wall times from 04:00 on avoid the 2026 gaps and overlaps of both zones (01:00-03:00 local).
quarter_hours = st.integers(min_value=16, max_value=95).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def weekly_rules(draw: st.DrawFn) -> tuple[str, dict[int, list[tuple[time, time]]]]:
    zone = draw(st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata"]))
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1)):
        cuts = sorted(draw(st.sets(quarter_hours, min_size=2, max_size=6)))
        # Consecutive cut pairs give disjoint blocks; dropping some leaves gaps between them.
        pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
        by_day[weekday] = pairs
    return zone, by_day


@given(
    rule=weekly_rules(),
    first=st.sampled_from([date(2026, 3, 2), date(2026, 3, 23), date(2026, 10, 19)]),
)
def test_every_interval_is_a_weekly_block_at_its_local_wall_time(
    rule: tuple[str, dict[int, list[tuple[time, time]]]], first: date
) -> None:
    zone_name, by_day = rule
    weekly = WeeklyAvailability(
        zone_name,
        tuple(WeeklyBlock(d, s, e) for d, pairs in by_day.items() for s, e in pairs),
    )
    zone = weekly.tz
    start = datetime.combine(first, time(0), tzinfo=zone)
    result = expand(weekly, start, start + timedelta(days=14))
    seen: list[tuple[date, time, time]] = []
    for iv in result:
        local_start, local_end = iv.start.astimezone(zone), iv.end.astimezone(zone)
        assert local_start.date() == local_end.date() or local_end.time() == time(0)
        seen.append((local_start.date(), local_start.time(), local_end.time()))
    expected: list[tuple[date, time, time]] = []
    for offset in range(14):
        day = first + timedelta(days=offset)
        for s, e in sorted(by_day.get(day.weekday(), [])):
            if expected and expected[-1][0] == day and expected[-1][2] == s:
                expected[-1] = (day, expected[-1][1], e)  # touching blocks come out joined
            else:
                expected.append((day, s, e))
    assert seen == expected
