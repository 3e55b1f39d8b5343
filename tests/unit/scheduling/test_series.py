"""Plan-of-care series: DST-correct occurrences, conflicts and nearest alternatives."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.errors import InvalidInput
from telehealth.scheduling.availability.rules import WeeklyAvailability, WeeklyBlock, expand
from telehealth.scheduling.overlap import Interval, blocked_interval
from telehealth.scheduling.series import (
    SeriesRule,
    plan_series,
    series_occurrences,
    series_window,
)
from telehealth.scheduling.slots import BookingProblem

from .helpers import LONDON, NEW_YORK, make_type, utc

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
FOLLOW = make_type(duration=45, before=0, after=15)


def test_twice_a_week_for_six_weeks_across_spring_forward() -> None:
    rule = SeriesRule(frozenset({TUE, THU}), time(10), "America/New_York", date(2026, 2, 24), 6)
    before = [(2, 24), (2, 26), (3, 3), (3, 5)]  # EST: 10:00 = 15:00Z
    after = [(3, 10), (3, 12), (3, 17), (3, 19), (3, 24), (3, 26), (3, 31), (4, 2)]  # EDT: 14:00Z
    assert series_occurrences(rule) == [utc(2026, m, d, 15) for m, d in before] + [
        utc(2026, m, d, 14) for m, d in after
    ]


def test_series_in_the_patients_london_zone() -> None:
    rule = SeriesRule(frozenset({FRI}), time(15), "Europe/London", date(2026, 3, 20), 2)
    occurrences = series_occurrences(rule)
    assert occurrences == [utc(2026, 3, 20, 15), utc(2026, 3, 27, 15)]
    autumn = SeriesRule(frozenset({FRI, MON}), time(15), "Europe/London", date(2026, 10, 23), 1)
    assert series_occurrences(autumn) == [utc(2026, 10, 23, 14), utc(2026, 10, 26, 15)]
    # The same instants seen by a New York therapist: 11:00 EDT, then 10:00 EDT after London moved.
    spring = SeriesRule(frozenset({FRI}), time(15), "Europe/London", date(2026, 3, 27), 2)
    assert [o.astimezone(NEW_YORK).strftime("%H:%M") for o in series_occurrences(spring)] == [
        "11:00",
        "10:00",
    ]


def test_series_across_fall_back() -> None:
    rule = SeriesRule(frozenset({SAT}), time(9), "America/New_York", date(2026, 10, 24), 3)
    assert series_occurrences(rule) == [
        utc(2026, 10, 24, 13),
        utc(2026, 10, 31, 13),
        utc(2026, 11, 7, 14),
    ]


def test_series_wall_time_in_the_gap_moves_to_the_transition() -> None:
    rule = SeriesRule(frozenset({SUN}), time(2, 30), "America/New_York", date(2026, 3, 1), 2)
    assert series_occurrences(rule) == [utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7)]


def test_series_window_covers_adjacent_days() -> None:
    rule = SeriesRule(frozenset({TUE, THU}), time(10), "America/New_York", date(2026, 2, 24), 6)
    assert series_window(rule) == (utc(2026, 2, 23, 5), utc(2026, 4, 4, 4))


def weekdays_nine_to_noon() -> list[Interval]:
    weekly = WeeklyAvailability(
        "America/New_York", tuple(WeeklyBlock(d, time(9), time(12)) for d in range(5))
    )
    return expand(weekly, utc(2026, 3, 1), utc(2026, 3, 21))


def test_conflicting_occurrence_gets_nearest_alternatives() -> None:
    rule = SeriesRule(frozenset({TUE, THU}), time(10), "America/New_York", date(2026, 3, 3), 2)
    # Another patient's follow-up on Thursday 12 March 10:00-10:45 EDT (blocked until 11:00).
    busy = [blocked_interval(utc(2026, 3, 12, 14), utc(2026, 3, 12, 14, 45), FOLLOW)]
    plan = plan_series(
        rule,
        appointment_type=FOLLOW,
        availability=weekdays_nine_to_noon(),
        busy=busy,
        now=utc(2026, 2, 1),
        align_zone=NEW_YORK,
        viewer_zone=LONDON,
    )
    assert [o.start for o in plan.bookable] == [
        utc(2026, 3, 3, 15),
        utc(2026, 3, 5, 15),
        utc(2026, 3, 10, 14),
    ]
    (conflict,) = plan.conflicting
    assert conflict.start == utc(2026, 3, 12, 14)
    assert conflict.local_day == date(2026, 3, 12)
    assert conflict.problems == (BookingProblem.BUSY,)
    # 09:00 and 11:00 that Thursday (one hour away), then Wednesday 11:00 (23 hours, earlier of
    # the tie with Friday 09:00).
    assert [a.start for a in conflict.alternatives] == [
        utc(2026, 3, 12, 13),
        utc(2026, 3, 12, 15),
        utc(2026, 3, 11, 15),
    ]
    assert conflict.alternatives[0].local_start.strftime("%H:%M %Z") == "13:00 GMT"


def test_alternatives_avoid_days_of_other_occurrences() -> None:
    rule = SeriesRule(frozenset({MON, TUE}), time(10), "America/New_York", date(2026, 3, 9), 1)
    busy = [Interval(utc(2026, 3, 10, 13), utc(2026, 3, 10, 16))]  # all of Tuesday's hours
    plan = plan_series(
        rule,
        appointment_type=FOLLOW,
        availability=weekdays_nine_to_noon(),
        busy=busy,
        now=utc(2026, 2, 1),
        align_zone=NEW_YORK,
        viewer_zone=NEW_YORK,
    )
    (conflict,) = plan.conflicting
    # Monday holds the other occurrence, so only Wednesday is offered, nearest first.
    assert [a.local_start.strftime("%a %H:%M") for a in conflict.alternatives] == [
        "Wed 09:00",
        "Wed 09:15",
        "Wed 09:30",
    ]


def test_occurrences_inside_notice_are_conflicting() -> None:
    visit = make_type(duration=45, after=15, notice=timedelta(hours=24))
    rule = SeriesRule(frozenset({TUE, THU}), time(10), "America/New_York", date(2026, 3, 3), 1)
    plan = plan_series(
        rule,
        appointment_type=visit,
        availability=weekdays_nine_to_noon(),
        busy=[],
        now=utc(2026, 3, 3, 12),  # 07:00 local on the Tuesday
        align_zone=NEW_YORK,
        viewer_zone=NEW_YORK,
        max_alternatives=2,
    )
    (conflict,) = plan.conflicting
    assert conflict.problems == (BookingProblem.TOO_SOON,)
    # Same day is too soon and Thursday holds the other occurrence: Wednesday from 12:00Z on.
    assert [a.local_start.strftime("%a %H:%M") for a in conflict.alternatives] == [
        "Wed 09:00",
        "Wed 09:15",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekdays": frozenset()}, "at least one weekday"),
        ({"weekdays": frozenset({7})}, "at least one weekday"),
        ({"weeks": 0}, "1 to 26 weeks"),
        ({"weeks": 27}, "1 to 26 weeks"),
        ({"zone": "Europe/Atlantis"}, "unknown time zone"),
        ({"wall_time": time(10, tzinfo=UTC)}, "without a zone"),
        ({"wall_time": time(10, 0, 1)}, "whole minutes"),
    ],
)
def test_invalid_series_rules(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "weekdays": frozenset({TUE}),
        "wall_time": time(10),
        "zone": "America/New_York",
        "first_day": date(2026, 3, 3),
        "weeks": 6,
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidInput, match=message):
        SeriesRule(**arguments)  # type: ignore[arg-type]


# Wall times from 04:00 on exist exactly once on every 2026 day in these zones.
wall_times = st.integers(16, 95).map(lambda q: time(q // 4, q % 4 * 15))
zones = st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Tokyo"])


@given(
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    wall=wall_times,
    zone=zones,
    first=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    weeks=st.integers(1, 12),
)
def test_every_occurrence_is_at_the_requested_wall_time(
    weekdays: frozenset[int], wall: time, zone: str, first: date, weeks: int
) -> None:
    rule = SeriesRule(weekdays, wall, zone, first, weeks)
    occurrences = series_occurrences(rule)
    tz = ZoneInfo(zone)
    assert len(occurrences) == weeks * len(weekdays)
    assert occurrences == sorted(set(occurrences))
    for occurrence in occurrences:
        local = occurrence.astimezone(tz)
        assert occurrence.tzinfo is UTC
        assert local.time() == wall
        assert local.weekday() in weekdays
        assert first <= local.date() < first + timedelta(weeks=weeks)


@given(
    weekdays=st.frozensets(st.integers(0, 4), min_size=1, max_size=3),
    wall=st.integers(36, 44).map(lambda q: time(q // 4, q % 4 * 15)),
    busy_starts=st.lists(st.integers(0, 14 * 24 * 4), max_size=25),
    first=st.sampled_from([date(2026, 3, 2), date(2026, 10, 26), date(2026, 6, 1)]),
)
def test_plan_never_offers_a_busy_time(
    weekdays: frozenset[int], wall: time, busy_starts: list[int], first: date
) -> None:
    rule = SeriesRule(weekdays, wall, "America/New_York", first, 2)
    window = series_window(rule)
    weekly = WeeklyAvailability(
        "America/New_York", tuple(WeeklyBlock(d, time(8), time(13)) for d in range(5))
    )
    availability = expand(weekly, *window)
    busy = [
        Interval(window[0] + timedelta(minutes=15 * q), window[0] + timedelta(minutes=15 * q + 50))
        for q in busy_starts
    ]
    plan = plan_series(
        rule,
        appointment_type=FOLLOW,
        availability=availability,
        busy=busy,
        now=datetime.combine(first, time(0), tzinfo=UTC) - timedelta(days=7),
        align_zone=NEW_YORK,
        viewer_zone=NEW_YORK,
    )
    booked = [blocked_interval(o.start, o.end, FOLLOW) for o in plan.bookable]
    series_days = {o.local_day for o in plan.occurrences}
    for blocked in booked:
        assert not any(blocked.overlaps(b) for b in busy)
    for conflict in plan.conflicting:
        assert conflict.problems
        assert len(conflict.alternatives) <= 3
        distances = [abs(a.start - conflict.start) for a in conflict.alternatives]
        assert distances == sorted(distances)
        for alternative in conflict.alternatives:
            blocked = blocked_interval(alternative.start, alternative.end, FOLLOW)
            assert not any(blocked.overlaps(b) for b in busy + booked)
            day = alternative.start.astimezone(NEW_YORK).date()
            assert abs((day - conflict.local_day).days) <= 1
            assert day == conflict.local_day or day not in series_days
