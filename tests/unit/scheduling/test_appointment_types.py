"""The seeded appointment types and the validation of edited ones."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import (
    FREE_SCREENING,
    INITIAL_EVALUATION,
    SEEDED_BY_KEY,
    SEEDED_TYPES,
    AppointmentType,
    Modality,
    lookup_type,
    parse_modality,
    types_by_key,
)


def test_seeded_catalogue() -> None:
    durations = {t.key: t.duration // timedelta(minutes=1) for t in SEEDED_TYPES}
    assert durations == {
        "free_screening": 20,
        "initial_evaluation": 60,
        "follow_up": 45,
        "re_evaluation": 45,
        "discharge": 30,
    }
    assert {t.key for t in SEEDED_TYPES if t.billable_evaluation} == {
        "initial_evaluation",
        "re_evaluation",
    }
    assert FREE_SCREENING.modalities == {Modality.VIRTUAL}
    assert all(
        t.modalities == {Modality.VIRTUAL, Modality.IN_CLINIC}
        for t in SEEDED_TYPES
        if t is not FREE_SCREENING
    )
    assert INITIAL_EVALUATION.blocked_length == timedelta(minutes=85)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration": timedelta(0)}, "duration must be positive"),
        ({"duration": timedelta(minutes=-5)}, "duration must be positive"),
        ({"duration": timedelta(hours=5)}, "duration must be at most"),
        ({"duration": timedelta(minutes=20, seconds=30)}, "duration must be whole minutes"),
        ({"buffer_before": timedelta(minutes=-1)}, "buffer_before must not be negative"),
        ({"buffer_after": timedelta(minutes=-1)}, "buffer_after must not be negative"),
        ({"min_notice": timedelta(hours=-1)}, "min_notice must not be negative"),
        ({"cancellation_cutoff": timedelta(hours=-1)}, "cancellation_cutoff must not be negative"),
        ({"booking_horizon": timedelta(hours=2)}, "booking_horizon must be longer than min_notice"),
        ({"booking_horizon": timedelta(days=400)}, "booking_horizon must be at most 366 days"),
        ({"modalities": frozenset()}, "at least one modality"),
        ({"modalities": frozenset({"video"})}, "modalities must be"),
        ({"key": "Free Screening"}, "key must be"),
        ({"name": "  "}, "name must not be empty"),
    ],
)
def test_invalid_edits_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        dataclasses.replace(FREE_SCREENING, **changes)  # type: ignore[arg-type]
    assert "free_screening" in error.value.message or "key must be" in error.value.message


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as error:
        dataclasses.replace(FREE_SCREENING, duration=timedelta(0), modalities=frozenset(), name="")
    assert len(error.value.details["problems"]) == 3


def test_valid_edit_and_modalities_from_strings() -> None:
    edited = dataclasses.replace(
        FREE_SCREENING,
        duration=timedelta(minutes=30),
        modalities=frozenset({"virtual", "in_clinic"}),  # type: ignore[arg-type]
    )
    assert edited.modalities == {Modality.VIRTUAL, Modality.IN_CLINIC}
    assert edited.blocked_length == timedelta(minutes=40)


def test_lookup_and_modality_parsing() -> None:
    assert lookup_type("follow_up") is SEEDED_BY_KEY["follow_up"]
    with pytest.raises(InvalidInput, match="unknown appointment type 'massage'; known types: "):
        lookup_type("massage")
    assert parse_modality("virtual", FREE_SCREENING) is Modality.VIRTUAL
    with pytest.raises(InvalidInput, match="Free screening cannot be booked as in_clinic"):
        parse_modality("in_clinic", FREE_SCREENING)
    with pytest.raises(InvalidInput, match="unknown modality 'phone'"):
        parse_modality("phone", INITIAL_EVALUATION)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="duplicate appointment type key 'free_screening'"):
        types_by_key([FREE_SCREENING, FREE_SCREENING])


def test_types_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FREE_SCREENING.duration = timedelta(minutes=5)  # type: ignore[misc]
    assert isinstance(SEEDED_TYPES[0], AppointmentType)
