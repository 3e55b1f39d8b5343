"""How a message about a visit says when it is: in the patient's zone and clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telehealth.scheduling.notices import when_words

START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=45)


def test_a_patient_in_new_york_reads_a_12_hour_clock() -> None:
    assert when_words(START, END, "America/New_York") == (
        "Tuesday, March 3, 2026, 10:00\u201310:45 AM EST"
    )


def test_a_patient_in_london_reads_a_24_hour_clock_in_their_own_zone() -> None:
    assert when_words(START, END, "Europe/London") == "Tuesday, March 3, 2026, 15:00\u201315:45 GMT"


def test_a_visit_across_noon_names_both_halves_of_the_day() -> None:
    noon = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)  # 11:30 AM in New York, summer time
    assert when_words(noon, noon + timedelta(hours=1), "America/New_York") == (
        "Wednesday, July 1, 2026, 11:30 AM \u2013 12:30 PM EDT"
    )
