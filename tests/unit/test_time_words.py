"""Times of day as a page writes them for its reader, against hand-written cases."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from telehealth.time_words import clock, clock_range, local_clock

# Monday 7 December 2026, 08:30 in New York (13:30 UTC).
NOW = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)
EN_DASH = "\u2013"


@pytest.mark.parametrize(
    ("hour", "minute", "twelve", "twenty_four"),
    [
        (0, 0, "12:00 AM", "00:00"),  # midnight
        (0, 5, "12:05 AM", "00:05"),
        (9, 45, "9:45 AM", "09:45"),
        (11, 59, "11:59 AM", "11:59"),
        (12, 0, "12:00 PM", "12:00"),  # noon
        (13, 30, "1:30 PM", "13:30"),
        (20, 15, "8:15 PM", "20:15"),
        (23, 59, "11:59 PM", "23:59"),
    ],
)
def test_clock_both_ways(hour: int, minute: int, twelve: str, twenty_four: str) -> None:
    local = datetime(2026, 12, 7, hour, minute)
    assert clock(local, hour12=True) == twelve
    assert clock(local, hour12=False) == twenty_four
    # A bare time of day (availability rules keep their times so) reads the same.
    assert clock(time(hour, minute), hour12=True) == twelve
    assert clock(time(hour, minute), hour12=False) == twenty_four


def test_local_clock_reads_the_instant_in_the_zone() -> None:
    assert local_clock(NOW, "America/New_York", True) == "8:30 AM"
    assert local_clock(NOW, "Europe/London", False) == "13:30"


@pytest.mark.parametrize(
    ("start", "end", "twelve", "twenty_four"),
    [
        # Both ends in the evening: "PM" once.
        (time(20, 15), time(21, 0), "8:15-9:00 PM", "20:15-21:00"),
        (time(9, 0), time(9, 45), "9:00-9:45 AM", "09:00-09:45"),
        # Crossing noon: each end names its half of the day.
        (time(11, 30), time(12, 15), "11:30 AM - 12:15 PM", "11:30-12:15"),
        # Up to noon: noon is PM, so the morning end says AM.
        (time(11, 0), time(12, 0), "11:00 AM - 12:00 PM", "11:00-12:00"),
        # From noon: both PM.
        (time(12, 0), time(12, 45), "12:00-12:45 PM", "12:00-12:45"),
        # From midnight: 12 AM, not 0.
        (time(0, 0), time(0, 30), "12:00-12:30 AM", "00:00-00:30"),
        # Up to midnight: the next day's 12:00 AM.
        (time(23, 15), time(0, 0), "11:15 PM - 12:00 AM", "23:15-00:00"),
    ],
)
def test_clock_range_both_ways(start: time, end: time, twelve: str, twenty_four: str) -> None:
    # The cases are written with a hyphen for the en dash the pages print.
    assert clock_range(start, end, hour12=True) == twelve.replace("-", EN_DASH)
    assert clock_range(start, end, hour12=False) == twenty_four.replace("-", EN_DASH)


def test_clock_range_reads_local_datetimes_as_the_page_has_them() -> None:
    start = datetime(2026, 3, 2, 20, 15, tzinfo=UTC)
    end = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    assert clock_range(start, end, True) == "8:15\u20139:00 PM"
