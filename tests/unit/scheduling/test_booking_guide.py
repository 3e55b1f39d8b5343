"""The booking guide's pure rules against hand-computed cases: which types, which times, what words."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import FOLLOW_UP, SEEDED_TYPES
from telehealth.scheduling.booking_guide import (
    PartOfDay,
    booked_by_staff_words,
    day_words,
    first_per_start,
    group_slots,
    inside_late_window,
    late_window_warning,
    may_book,
    part_of_day,
    policy_words,
    span_words,
    types_for,
)
from tests.unit.scheduling.helpers import NEW_YORK, utc

MONDAY = date(2026, 3, 2)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK)


# --- types ---------------------------------------------------------------------------------------


def test_patients_are_offered_the_visits_they_come_for_first_and_never_the_clinicians_own() -> None:
    # The seeded catalogue is listed by key order (discharge first) in the module; people read it
    # by display order: the first visit, the follow-up, then the free screening.
    assert [t.key for t in types_for(SEEDED_TYPES, is_patient=True)] == [
        "initial_evaluation",
        "follow_up",
        "free_screening",
    ]
    assert [t.key for t in types_for(SEEDED_TYPES, is_patient=False)] == [
        "initial_evaluation",
        "follow_up",
        "free_screening",
        "re_evaluation",
        "discharge",
    ]


def test_equal_display_orders_fall_back_to_the_name_then_the_key() -> None:
    b = dataclasses.replace(FOLLOW_UP, key="b_visit", name="Balance class", display_order=5)
    a = dataclasses.replace(FOLLOW_UP, key="a_visit", name="balance class", display_order=5)
    z = dataclasses.replace(FOLLOW_UP, key="z_visit", name="Aquatic therapy", display_order=5)
    first = dataclasses.replace(FOLLOW_UP, key="first", name="Zumba", display_order=1)
    assert [t.key for t in types_for([b, a, z, first], is_patient=True)] == [
        "first",
        "z_visit",
        "a_visit",
        "b_visit",
    ]


def test_who_may_book_a_type() -> None:
    staff_only = dataclasses.replace(FOLLOW_UP, patient_bookable=False)
    assert may_book(FOLLOW_UP, is_patient=True) and may_book(FOLLOW_UP, is_patient=False)
    assert not may_book(staff_only, is_patient=True)
    assert may_book(staff_only, is_patient=False)


@pytest.mark.parametrize("order", [-1, 10_001, True])
def test_a_display_order_out_of_range_is_refused(order: int) -> None:
    with pytest.raises(InvalidInput, match="display_order"):
        dataclasses.replace(FOLLOW_UP, display_order=order)


def test_the_refusal_of_a_staff_only_type_names_it_and_the_next_step() -> None:
    assert booked_by_staff_words("Discharge visit") == (
        "A discharge visit is arranged by your therapist, so it cannot be booked online."
        " Please ask your therapist or call the clinic."
    )
    assert booked_by_staff_words("Initial check").startswith("An initial check is arranged")


# --- parts of day and day words ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "part"),
    [
        (0, 0, PartOfDay.MORNING),
        (6, 30, PartOfDay.MORNING),
        (11, 59, PartOfDay.MORNING),
        (12, 0, PartOfDay.AFTERNOON),
        (16, 45, PartOfDay.AFTERNOON),
        (17, 0, PartOfDay.EVENING),
        (23, 45, PartOfDay.EVENING),
    ],
)
def test_part_of_day(hour: int, minute: int, part: PartOfDay) -> None:
    assert part_of_day(_local(3, hour, minute)) == part


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (MONDAY, "Today"),
        (date(2026, 3, 3), "Tomorrow"),
        (date(2026, 3, 4), "Wednesday 4 March"),
        (date(2026, 3, 1), "Sunday 1 March"),  # yesterday is not "today" or "tomorrow"
        (date(2027, 1, 1), "Friday 1 January 2027"),
    ],
)
def test_day_words(day: date, words: str) -> None:
    assert day_words(day, today=MONDAY) == words


def test_tomorrow_across_a_month_and_a_year_end() -> None:
    assert day_words(date(2026, 4, 1), today=date(2026, 3, 31)) == "Tomorrow"
    assert day_words(date(2027, 1, 1), today=date(2026, 12, 31)) == "Tomorrow"


# --- grouping ------------------------------------------------------------------------------------


def test_slots_are_grouped_by_day_then_part_of_day_with_the_first_three_shown() -> None:
    slots = [
        _local(2, 16, 30),
        _local(2, 17, 0),
        _local(3, 9, 0),
        _local(3, 9, 15),
        _local(3, 9, 30),
        _local(3, 9, 45),
        _local(3, 10, 0),
        _local(3, 13, 0),
        _local(5, 18, 0),
    ]
    days = group_slots(slots, lambda s: s, today=MONDAY)
    assert [(d.day, d.heading, d.count, d.more_count) for d in days] == [
        (MONDAY, "Today", 2, 0),
        (date(2026, 3, 3), "Tomorrow", 6, 2),
        (date(2026, 3, 5), "Thursday 5 March", 1, 0),
    ]
    today, tomorrow, thursday = days
    assert [(p.part, p.shown, p.more) for p in today.parts] == [
        (PartOfDay.AFTERNOON, [_local(2, 16, 30)], []),
        (PartOfDay.EVENING, [_local(2, 17, 0)], []),
    ]
    morning, afternoon = tomorrow.parts
    assert morning.part is PartOfDay.MORNING and morning.count == 5
    assert morning.shown == [_local(3, 9, 0), _local(3, 9, 15), _local(3, 9, 30)]
    assert morning.more == [_local(3, 9, 45), _local(3, 10, 0)]
    assert afternoon.part is PartOfDay.AFTERNOON and afternoon.shown == [_local(3, 13, 0)]
    assert [p.part for p in thursday.parts] == [PartOfDay.EVENING]


def test_grouping_reads_the_local_day_not_the_utc_day() -> None:
    # 02:30 UTC on Tuesday is 21:30 on Monday in New York: Monday evening for the reader.
    instant = utc(2026, 3, 3, 2, 30)
    (day,) = group_slots([instant], lambda s: s.astimezone(NEW_YORK), today=MONDAY)
    assert day.heading == "Today" and day.parts[0].part is PartOfDay.EVENING


def test_nothing_free_is_no_days() -> None:
    assert group_slots([], lambda s: s, today=MONDAY) == []


def test_anyone_available_shows_each_time_once_keeping_the_first() -> None:
    rows = [("9:00", "Dana"), ("9:00", "Sam"), ("9:15", "Sam"), ("9:30", "Dana"), ("9:30", "Sam")]
    starts = {"9:00": _local(3, 9), "9:15": _local(3, 9, 15), "9:30": _local(3, 9, 30)}
    assert first_per_start(rows, lambda r: starts[r[0]]) == [
        ("9:00", "Dana"),
        ("9:15", "Sam"),
        ("9:30", "Dana"),
    ]


# --- policy and the late-cancellation window -----------------------------------------------------


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=24), "24 hours"),
        (timedelta(hours=48), "2 days"),
        (timedelta(hours=50), "50 hours"),
    ],
)
def test_span_words(span: timedelta, words: str) -> None:
    assert span_words(span) == words


def test_policy_words() -> None:
    policy = policy_words(timedelta(hours=12), timedelta(hours=24))
    assert policy.notice == "Book at least 12 hours ahead."
    assert policy.late_window == (
        "You can move or cancel online until 24 hours before the visit. Later than that,"
        " please call the clinic: a cancellation then counts as a late cancellation."
    )
    none = policy_words(timedelta(0), timedelta(0))
    assert none.notice == "You can book any free time shown."
    assert none.late_window == "You can move or cancel online until the visit starts."


def test_the_late_window_starts_exactly_at_the_cutoff() -> None:
    start, cutoff = utc(2026, 3, 3, 14), timedelta(hours=24)
    # 24 hours ahead is not late (the cancellation rule: start - now < cutoff); a minute less is.
    assert not inside_late_window(start, start - cutoff, cutoff)
    assert late_window_warning(start, start - cutoff, cutoff) is None
    assert inside_late_window(start, start - cutoff + timedelta(minutes=1), cutoff)
    warning = late_window_warning(start, start - timedelta(hours=3), cutoff)
    assert warning is not None and warning.startswith(
        "This visit starts in less than 24 hours. Once booked, it cannot be moved or cancelled online"
    )
    # A type without a late window never warns, even minutes before the start.
    assert late_window_warning(start, start - timedelta(minutes=5), timedelta(0)) is None
