"""Slot search and the booking check: worked examples, DST, and properties against brute force."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.errors import Conflict, InvalidInput
from telehealth.scheduling.appointment_types import FREE_SCREENING, AppointmentType
from telehealth.scheduling.availability.rules import WeeklyAvailability, WeeklyBlock, expand
from telehealth.scheduling.overlap import Interval, blocked_interval
from telehealth.scheduling.slots import (
    BookingProblem,
    Slot,
    booking_problems,
    ensure_bookable,
    find_slots,
)

from .helpers import KOLKATA, LONDON, NEW_YORK, make_type, minutes, utc

UTC_ZONE = ZoneInfo("UTC")
FAR_PAST = utc(2025, 12, 1)


def starts(slots: Sequence[Slot]) -> list[datetime]:
    return [s.start for s in slots]


def test_buffers_of_both_sides_keep_slots_apart_and_touching_is_allowed() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 12))]
    existing = make_type(duration=45, before=0, after=15)
    busy = [blocked_interval(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 45), existing)]
    screening = make_type(duration=20, before=0, after=10)
    found = find_slots(
        appointment_type=screening,
        availability=availability,
        busy=busy,
        now=FAR_PAST,
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 2),
        align_zone=UTC_ZONE,
        viewer_zone=UTC_ZONE,
    )
    # Busy is 10:00-11:00 with the follow-up's buffer; 09:30+30 min touches 10:00 and is fine.
    assert starts(found) == [
        utc(2026, 6, 1, 9),
        utc(2026, 6, 1, 9, 15),
        utc(2026, 6, 1, 9, 30),
        utc(2026, 6, 1, 11),
        utc(2026, 6, 1, 11, 15),
        utc(2026, 6, 1, 11, 30),
    ]
    assert found[0].end == utc(2026, 6, 1, 9, 20)


def test_a_type_whose_buffers_do_not_fit_gets_no_slot() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 12))]
    busy = [Interval(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11))]
    evaluation = make_type(duration=60, before=10, after=15)  # needs 85 free minutes
    found = find_slots(
        appointment_type=evaluation,
        availability=availability,
        busy=busy,
        now=FAR_PAST,
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 2),
        align_zone=UTC_ZONE,
        viewer_zone=UTC_ZONE,
    )
    assert found == []


def test_notice_horizon_and_window_bound_the_starts() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 17))]
    visit = make_type(
        duration=30, after=0, notice=timedelta(hours=2), horizon=timedelta(hours=4, minutes=50)
    )
    found = find_slots(
        appointment_type=visit,
        availability=availability,
        busy=[],
        now=utc(2026, 6, 1, 8, 50),
        window_start=utc(2026, 6, 1, 11, 30),
        window_end=utc(2026, 6, 1, 14),
        align_zone=UTC_ZONE,
        viewer_zone=UTC_ZONE,
    )
    # Notice: >= 10:50; window: >= 11:30 and < 14:00; horizon: <= 13:40, the tighter end.
    assert starts(found) == [utc(2026, 6, 1, 11, 30) + minutes(15 * k) for k in range(9)]


def test_limit_stops_early() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 17))]
    found = find_slots(
        appointment_type=make_type(),
        availability=availability,
        busy=[],
        now=FAR_PAST,
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 2),
        align_zone=UTC_ZONE,
        viewer_zone=UTC_ZONE,
        limit=2,
    )
    assert starts(found) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 15)]


def test_slot_search_across_new_york_spring_forward_keeps_local_times() -> None:
    weekly = WeeklyAvailability(
        "America/New_York", tuple(WeeklyBlock(d, time(9), time(12)) for d in range(7))
    )
    availability = expand(weekly, utc(2026, 3, 7), utc(2026, 3, 10))
    found = find_slots(
        appointment_type=make_type(duration=45, after=15),
        availability=availability,
        busy=[],
        now=FAR_PAST,
        window_start=utc(2026, 3, 7),
        window_end=utc(2026, 3, 10),
        align_zone=NEW_YORK,
        viewer_zone=LONDON,
    )
    by_day: dict[date, list[time]] = {}
    for slot in found:
        local = slot.start.astimezone(NEW_YORK)
        by_day.setdefault(local.date(), []).append(local.time())
    quarter_hours = [time(9 + k // 4, k % 4 * 15) for k in range(9)]  # 09:00 .. 11:00
    assert by_day == {
        date(2026, 3, 7): quarter_hours,
        date(2026, 3, 8): quarter_hours,
        date(2026, 3, 9): quarter_hours,
    }
    first_of_day = [s for s in found if s.start.astimezone(NEW_YORK).time() == time(9)]
    assert [s.start for s in first_of_day] == [
        utc(2026, 3, 7, 14),
        utc(2026, 3, 8, 13),
        utc(2026, 3, 9, 13),
    ]
    # London has not changed yet, so the viewer sees the visit an hour earlier after Sunday.
    assert [s.local_start.strftime("%H:%M %Z") for s in first_of_day] == [
        "14:00 GMT",
        "13:00 GMT",
        "13:00 GMT",
    ]


def test_slot_search_through_the_repeated_fall_back_hour() -> None:
    availability = [Interval(utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))]  # 00:00 EDT-03:00 EST
    found = find_slots(
        appointment_type=make_type(duration=20, after=10),
        availability=availability,
        busy=[],
        now=FAR_PAST,
        window_start=utc(2026, 11, 1),
        window_end=utc(2026, 11, 2),
        align_zone=NEW_YORK,
        viewer_zone=NEW_YORK,
    )
    assert starts(found) == [utc(2026, 11, 1, 4) + minutes(15 * k) for k in range(15)]
    walls = [s.local_start.strftime("%H:%M %Z") for s in found]
    assert walls.count("01:00 EDT") == 1
    assert walls.count("01:00 EST") == 1
    assert walls[-1] == "02:30 EST"


def test_slots_align_to_the_local_clock_of_a_half_hour_zone() -> None:
    weekly = WeeklyAvailability("Asia/Kolkata", (WeeklyBlock(0, time(9), time(12)),))
    availability = expand(weekly, utc(2026, 6, 1), utc(2026, 6, 2))
    found = find_slots(
        appointment_type=make_type(duration=45, after=15),
        availability=availability,
        busy=[],
        now=FAR_PAST,
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 2),
        align_zone=KOLKATA,
        viewer_zone=KOLKATA,
        granularity=timedelta(hours=1),
    )
    # 09:00, 10:00, 11:00 IST are 03:30, 04:30, 05:30 UTC.
    assert starts(found) == [utc(2026, 6, 1, 3, 30), utc(2026, 6, 1, 4, 30), utc(2026, 6, 1, 5, 30)]


def test_alignment_follows_a_half_hour_dst_shift() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    # 2026-04-05 00:00 (+11:00) to 04:00 (+10:30); at 15:00Z the clock goes from 02:00 to 01:30.
    availability = [Interval(utc(2026, 4, 4, 13), utc(2026, 4, 4, 17, 30))]
    found = find_slots(
        appointment_type=make_type(duration=30, after=0),
        availability=availability,
        busy=[],
        now=FAR_PAST,
        window_start=utc(2026, 4, 4),
        window_end=utc(2026, 4, 5),
        align_zone=lord_howe,
        viewer_zone=lord_howe,
        granularity=timedelta(hours=1),
    )
    assert starts(found) == [
        utc(2026, 4, 4, 13),
        utc(2026, 4, 4, 14),
        utc(2026, 4, 4, 15, 30),
        utc(2026, 4, 4, 16, 30),
    ]
    assert [s.local_start.strftime("%H:%M") for s in found] == ["00:00", "01:00", "02:00", "03:00"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"granularity": timedelta(minutes=7)}, "granularity"),
        ({"granularity": timedelta(0)}, "granularity"),
        ({"window_end": utc(2026, 5, 1)}, "must end after it starts"),
        ({"window_end": utc(2026, 9, 30)}, "at most 93 days"),
        ({"window_start": datetime(2026, 6, 1)}, "time zone"),
        ({"limit": 0}, "limit"),
    ],
)
def test_find_slots_refuses_bad_requests(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "appointment_type": make_type(),
        "availability": [],
        "busy": [],
        "now": FAR_PAST,
        "window_start": utc(2026, 6, 1),
        "window_end": utc(2026, 6, 2),
        "align_zone": UTC_ZONE,
        "viewer_zone": UTC_ZONE,
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidInput, match=message):
        find_slots(**arguments)  # type: ignore[arg-type]


def test_booking_problems_lists_every_broken_rule() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 12))]
    busy = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 10))]
    visit = make_type(duration=45, after=15, notice=timedelta(hours=24))
    ok = booking_problems(
        start=utc(2026, 6, 1, 10),
        appointment_type=visit,
        availability=availability,
        busy=busy,
        now=utc(2026, 5, 1),
    )
    assert ok == ()
    bad = booking_problems(
        start=utc(2026, 6, 1, 9, 30),
        appointment_type=visit,
        availability=availability,
        busy=busy,
        now=utc(2026, 6, 1),
    )
    assert bad == (BookingProblem.TOO_SOON, BookingProblem.BUSY)
    late = booking_problems(
        start=utc(2026, 6, 1, 11, 15),
        appointment_type=visit,
        availability=availability,
        busy=busy,
        now=utc(2025, 1, 1),
    )
    assert late == (BookingProblem.BEYOND_HORIZON, BookingProblem.OUTSIDE_AVAILABILITY)


def test_booking_may_span_two_adjacent_availability_blocks() -> None:
    availability = [
        Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 10)),
        Interval(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11)),
    ]
    problems = booking_problems(
        start=utc(2026, 6, 1, 9, 30),
        appointment_type=make_type(duration=45, after=15),
        availability=availability,
        busy=[],
        now=FAR_PAST,
    )
    assert problems == ()


def test_ensure_bookable_errors_and_result() -> None:
    availability = [Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 12))]
    busy = [Interval(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11))]

    def book(start: datetime, now: datetime, *ignore: BookingProblem) -> Interval:
        return ensure_bookable(
            start=start,
            appointment_type=FREE_SCREENING,
            availability=availability,
            busy=busy,
            now=now,
            ignore=ignore,
        )

    blocked = book(utc(2026, 6, 1, 9), utc(2026, 5, 20))
    assert blocked == Interval(utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30))
    with pytest.raises(Conflict, match="no longer free") as taken:
        book(utc(2026, 6, 1, 9, 45), utc(2026, 5, 20))
    assert taken.value.code == "slot_taken"
    with pytest.raises(InvalidInput, match="at least 2 hours ahead") as soon:
        book(utc(2026, 6, 1, 9), utc(2026, 6, 1, 8))
    assert soon.value.code == "too_soon"
    with pytest.raises(InvalidInput, match="at most 30 days ahead"):
        book(utc(2026, 6, 1, 9), utc(2026, 4, 1))
    with pytest.raises(Conflict, match="not available") as outside:
        book(utc(2026, 6, 1, 11, 45), utc(2026, 5, 20))
    assert outside.value.code == "outside_availability"
    # Staff may waive the notice rule; the double-booking rule is never waived by default.
    assert book(utc(2026, 6, 1, 9), utc(2026, 6, 1, 8), BookingProblem.TOO_SOON) == blocked


# --- properties: find_slots equals a brute-force scan of every minute of the window ------------

# Each base day starts two days that hold a DST change in one of the zones (or none, in June).
BASE_DAYS = [
    date(2026, 3, 7),
    date(2026, 3, 28),
    date(2026, 4, 4),
    date(2026, 6, 10),
    date(2026, 10, 3),
    date(2026, 10, 24),
    date(2026, 10, 31),
]
ZONES = [UTC_ZONE, NEW_YORK, LONDON, KOLKATA, ZoneInfo("Australia/Lord_Howe")]


@dataclass(frozen=True)
class Scenario:
    appointment_type: AppointmentType
    availability: list[Interval]
    busy: list[Interval]
    now: datetime
    window_start: datetime
    window_end: datetime
    align_zone: ZoneInfo
    viewer_zone: ZoneInfo
    granularity: timedelta

    def search(self) -> list[Slot]:
        return find_slots(
            appointment_type=self.appointment_type,
            availability=self.availability,
            busy=self.busy,
            now=self.now,
            window_start=self.window_start,
            window_end=self.window_end,
            align_zone=self.align_zone,
            viewer_zone=self.viewer_zone,
            granularity=self.granularity,
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    base = datetime.combine(draw(st.sampled_from(BASE_DAYS)), time(0), tzinfo=UTC)

    def span(max_len: int) -> Interval:
        start = draw(st.integers(0, 2880))
        return Interval(
            base + minutes(start), base + minutes(start + draw(st.integers(1, max_len)))
        )

    window_start = base + minutes(draw(st.integers(0, 1440)))
    return Scenario(
        appointment_type=make_type(
            duration=draw(st.sampled_from([20, 30, 45, 60])),
            before=draw(st.sampled_from([0, 5, 10])),
            after=draw(st.sampled_from([0, 10, 15])),
            notice=minutes(draw(st.integers(0, 24 * 60))),
            horizon=minutes(draw(st.integers(24 * 60 + 1, 4 * 24 * 60))),
        ),
        availability=[span(600) for _ in range(draw(st.integers(0, 6)))],
        busy=[span(120) for _ in range(draw(st.integers(0, 12)))],
        # Seconds in "now" make notice and horizon fall between grid points.
        now=base
        + minutes(draw(st.integers(-1440, 1440)))
        + timedelta(seconds=draw(st.integers(0, 59))),
        window_start=window_start,
        window_end=window_start + minutes(draw(st.integers(1, 1440))),
        align_zone=draw(st.sampled_from(ZONES)),
        viewer_zone=draw(st.sampled_from(ZONES)),
        granularity=minutes(draw(st.sampled_from([15, 30, 60]))),
    )


def covered(availability: list[Interval], start: datetime, end: datetime) -> bool:
    minute = start
    while minute < end:
        if not any(a.start <= minute < a.end for a in availability):
            return False
        minute += minutes(1)
    return True


def brute_force(s: Scenario) -> list[datetime]:
    t = s.appointment_type
    step = s.granularity // minutes(1)
    found = []
    candidate = s.window_start
    while candidate < s.window_end:
        local = candidate.astimezone(s.align_zone)
        need_start = candidate - t.buffer_before
        need_end = candidate + t.duration + t.buffer_after
        if (
            (local.hour * 60 + local.minute) % step == 0
            and t.min_notice <= candidate - s.now <= t.booking_horizon
            and covered(s.availability, need_start, need_end)
            and not any(b.start < need_end and need_start < b.end for b in s.busy)
        ):
            found.append(candidate)
        candidate += minutes(1)
    return found


@given(scenarios())
def test_find_slots_equals_brute_force(s: Scenario) -> None:
    assert starts(s.search()) == brute_force(s)


@given(scenarios())
def test_no_slot_overlaps_busy_or_leaves_availability(s: Scenario) -> None:
    t = s.appointment_type
    for slot in s.search():
        blocked = blocked_interval(slot.start, slot.end, t)
        assert slot.end - slot.start == t.duration
        assert not any(blocked.overlaps(b) for b in s.busy)
        assert covered(s.availability, blocked.start, blocked.end)
        assert t.min_notice <= slot.start - s.now <= t.booking_horizon
        assert s.window_start <= slot.start < s.window_end
        # The same instant, compared in UTC: an aware time in a repeated hour (a DST fold, as
        # Lord Howe's 30-minute one) never equals a time of another zone (PEP 495).
        assert slot.local_start.astimezone(UTC) == slot.start
        assert slot.local_start.tzinfo is s.viewer_zone
