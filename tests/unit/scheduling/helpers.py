"""Small builders shared by the scheduling rule tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telehealth.scheduling.appointment_types import AppointmentType, Modality

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    """n minutes."""
    return timedelta(minutes=n)


def make_type(
    duration: int = 45,
    before: int = 0,
    after: int = 15,
    notice: timedelta = timedelta(0),
    horizon: timedelta = timedelta(days=366),
    cutoff: timedelta = timedelta(hours=24),
    key: str = "test_visit",
) -> AppointmentType:
    """An appointment type with the timing under test and permissive defaults elsewhere."""
    return AppointmentType(
        key=key,
        name="Test visit",
        duration=minutes(duration),
        buffer_before=minutes(before),
        buffer_after=minutes(after),
        min_notice=notice,
        booking_horizon=horizon,
        cancellation_cutoff=cutoff,
        modalities=frozenset({Modality.VIRTUAL}),
    )
