"""The home program's pure rules: amounts in words, today's exercises, and markable days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from telehealth.home_program import rules


def test_amounts_are_said_as_a_person_says_them() -> None:
    assert rules.dosage_words(3, 10, 5, 2) == "3 sets of 10, hold 5 seconds, twice a day"
    assert rules.dosage_words(1, 3, 1, 1) == "1 set of 3, hold 1 second, once a day"
    assert rules.dosage_words(2, 8, 0, 3) == "2 sets of 8, 3 times a day"


def test_how_often_in_a_week() -> None:
    assert rules.week_words(7) == "every day"
    assert rules.week_words(5) == "5 times a week, on any days you choose"
    assert rules.week_words(2) == "twice a week, on any days you choose"
    assert rules.week_words(1) == "once a week, on any days you choose"


def test_which_exercises_are_todays() -> None:
    assert rules.is_todays(7, 7, False)  # every day, whatever the week's count
    assert rules.is_todays(5, 4, False)
    assert not rules.is_todays(5, 5, False)  # the week's five are done
    assert rules.is_todays(5, 5, True)  # the fifth was today: it stays, ticked


def test_the_day_is_the_patients_own() -> None:
    late = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert rules.local_day(late, "America/New_York") == date(2026, 3, 2)
    assert rules.local_day(late, "Europe/London") == date(2026, 3, 3)


def test_a_mark_may_be_for_today_or_yesterday_only() -> None:
    today = date(2026, 3, 4)
    assert rules.allowed_day(today, today)
    assert rules.allowed_day(date(2026, 3, 3), today)
    assert not rules.allowed_day(date(2026, 3, 2), today)
    assert not rules.allowed_day(date(2026, 3, 5), today)
    assert rules.week_of(today) == (date(2026, 3, 2), date(2026, 3, 8))
