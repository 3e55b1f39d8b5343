"""How the pages say when a visit room opens, against hand-worked cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.http.locale import uses_12_hour_clock
from telehealth.visits.timing import day_and_time, opens_words, until

NEW_YORK = "America/New_York"
# Monday 7 December 2026, 08:30 in New York (13:30 UTC).
NOW = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=1), "in 1 minute"),
        (timedelta(seconds=59), "in 1 minute"),
        (timedelta(seconds=61), "in 2 minutes"),
        (timedelta(minutes=12), "in 12 minutes"),
        (timedelta(minutes=59, seconds=30), "in about 1 hour"),
        (timedelta(minutes=60), "in about 1 hour"),
        (timedelta(minutes=89), "in about 1 hour"),
        (timedelta(minutes=91), "in about 2 hours"),
        (timedelta(hours=23, minutes=29), "in about 23 hours"),
        (timedelta(hours=23, minutes=31), "in about 1 day"),
        (timedelta(days=3, hours=23), "in about 4 days"),
        (timedelta(minutes=5723), "in about 4 days"),  # the "5723 minutes" a patient once read
        (timedelta(seconds=-5), "in 1 minute"),  # due: never "in 0 minutes" or negative
    ],
)
def test_until_says_how_long_as_people_do(delta: timedelta, words: str) -> None:
    assert until(delta) == words


def test_days_are_named_from_the_readers_own_day() -> None:
    # 14:45 UTC = 09:45 the same Monday in New York.
    assert day_and_time(datetime(2026, 12, 7, 14, 45, tzinfo=UTC), NOW, NEW_YORK, True) == (
        "today at 9:45 AM"
    )
    # 03:00 UTC Tuesday is still Monday 22:00 in New York: "today", not "tomorrow".
    assert day_and_time(datetime(2026, 12, 8, 3, 0, tzinfo=UTC), NOW, NEW_YORK, True) == (
        "today at 10:00 PM"
    )
    assert day_and_time(datetime(2026, 12, 8, 5, 0, tzinfo=UTC), NOW, NEW_YORK, False) == (
        "tomorrow at 00:00"
    )
    assert day_and_time(datetime(2026, 12, 10, 19, 0, tzinfo=UTC), NOW, NEW_YORK, True) == (
        "on Thursday 10 December at 2:00 PM"
    )
    # The same instant in Tokyo (UTC+9) is already the reader's Tuesday.
    assert day_and_time(datetime(2026, 12, 7, 14, 45, tzinfo=UTC), NOW, "Asia/Tokyo", False) == (
        "today at 23:45"
    )
    assert day_and_time(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), NOW, "Asia/Tokyo", False) == (
        "tomorrow at 00:00"
    )


def test_opens_words_give_the_day_and_the_wait() -> None:
    opens = datetime(2026, 12, 7, 16, 45, tzinfo=UTC)  # 11:45 in New York, 3 h 15 min away
    assert opens_words(opens, NOW, NEW_YORK, True) == "today at 11:45 AM (in about 3 hours)"


@pytest.mark.parametrize(
    ("header", "twelve"),
    [
        ("", True),
        ("*", True),
        ("en-US,en;q=0.9", True),
        ("en", True),
        ("en_CA", True),
        ("en-AU", True),
        ("en-GB,en;q=0.8", False),
        ("en-IE", False),
        ("fr-CA,fr;q=0.9", False),
        ("es-ES", False),
        ("es-US", True),
        ("de", False),
        ("ko-KR", True),
        ("hi", True),
        ("zh-Hant-TW", False),
    ],
)
def test_twelve_hour_clock_follows_the_first_language(header: str, twelve: bool) -> None:
    assert uses_12_hour_clock(header) is twelve
