from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telehealth.catalog import Catalog
from telehealth.notes.billing import (
    MODIFIER_PHYSICAL_THERAPY,
    MODIFIER_TELEHEALTH,
    PLACE_OF_SERVICE_TELEHEALTH_HOME,
    PLACE_OF_SERVICE_TELEHEALTH_OTHER,
    BillingLine,
    ClaimSetting,
    allocate_timed_units,
    bill_minutes,
    bill_note,
    claim_setting,
    cpt_name,
    units_for_minutes,
    units_text,
)
from telehealth.notes.rules import validate_note_content
from tests.unit.notes.samples import daily_note


@pytest.mark.parametrize(
    ("minutes", "units"),
    [
        (0, 0),
        (7, 0),
        (8, 1),
        (15, 1),
        (22, 1),
        (23, 2),
        (37, 2),
        (38, 3),
        (52, 3),
        (53, 4),
        (67, 4),
        (68, 5),
        (82, 5),
        (83, 6),
        (97, 6),
        (98, 7),
        (112, 7),
        (113, 8),
    ],
)
def test_total_timed_minutes_to_units(minutes: int, units: int) -> None:
    assert units_for_minutes(minutes) == units


def test_negative_minutes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        units_for_minutes(-1)
    with pytest.raises(ValueError):
        allocate_timed_units({"97110": -5})


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # CMS Claims Processing Manual ch. 5 §20.2: 33 min 97110 + 7 min 97140 = 40 min, 3 units.
        # 97110 has two full units and 3 minutes left; 97140's 7 minutes beat those 3, so the
        # third unit is 97140's.
        ({"97110": 33, "97140": 7}, {"97110": 2, "97140": 1}),
        # CMS: 24 min 97112 + 23 min 97110 = 47 min, 3 units; 97112 has more left over (9 > 8).
        ({"97112": 24, "97110": 23}, {"97112": 2, "97110": 1}),
        # CMS: 20 + 20 = 40 min, 3 units, "either code" may take the second unit; our tie-break
        # gives it to the lower CPT code.
        ({"97112": 20, "97110": 20}, {"97110": 2, "97112": 1}),
        # Three services under 8 minutes each, 21 total: one unit, to the code with the most time.
        ({"97110": 7, "97112": 6, "97140": 5}, {"97110": 1}),
        # All tied at 7 minutes: 21 total, one unit, lowest CPT.
        ({"97110": 7, "97112": 7, "97140": 7}, {"97110": 1}),
        # 18 + 13 + 10 = 41 min, 3 units: one each; 97110's 3 minutes left lose to 13 and 10.
        ({"97110": 18, "97140": 13, "97530": 10}, {"97110": 1, "97140": 1, "97530": 1}),
        # A lone service under 8 minutes is not billed.
        ({"97140": 7}, {}),
        # Two services of 7 minutes: 14 total, one unit; equal left-over and total, lower CPT.
        ({"97140": 7, "97530": 7}, {"97140": 1}),
        # Equal left-over minutes (8 each), more total minutes wins: 97530 has 23 vs 8.
        ({"97110": 8, "97530": 23}, {"97530": 2}),
        # 45 minutes of one code is exactly 3 units, nothing left over.
        ({"97110": 45}, {"97110": 3}),
        ({}, {}),
    ],
)
def test_units_are_spread_over_codes_the_cms_way(
    minutes: dict[str, int], expected: dict[str, int]
) -> None:
    assert allocate_timed_units(minutes) == expected


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["97110", "97112", "97140", "97530", "97535"]),
        st.integers(min_value=0, max_value=120),
    )
)
def test_allocation_always_bills_exactly_the_total_units(minutes: dict[str, int]) -> None:
    units = allocate_timed_units(minutes)
    assert sum(units.values()) == units_for_minutes(sum(minutes.values()))
    for cpt, n in units.items():
        # Never more than the code's own whole units plus one part-unit.
        assert minutes[cpt] // 15 <= n <= minutes[cpt] // 15 + 1


def test_untimed_codes_bill_one_unit_whatever_their_minutes() -> None:
    summary = bill_minutes({"97110": 10}, {"97163": 55, "97150": 3})
    assert summary.lines == (
        BillingLine("97110", 1, 10, True),
        BillingLine("97150", 1, 3, False),
        BillingLine("97163", 1, 55, False),
    )
    assert (summary.timed_minutes, summary.timed_units, summary.untimed_units) == (10, 1, 2)
    assert summary.total_units == 3


def test_a_note_is_billed_by_cpt_with_manual_therapy_kinds_summed(catalog: Catalog) -> None:
    # 23 min 97110; joint mobilization 10 + myofascial release 8 + IASTM 5 = 23 min 97140.
    # 46 min -> 3 units: one full unit each, 8 minutes left on both; tie on total, 97110 wins.
    summary = bill_note(validate_note_content(daily_note(), catalog), catalog)
    tele = ("95", "GP")
    assert summary.lines == (
        BillingLine("97110", 2, 23, True, tele, "10", "Therapeutic exercise"),
        BillingLine("97140", 1, 23, True, tele, "10", "Manual therapy techniques"),
    )
    assert summary.total_units == 3


def test_an_evaluation_visit_bills_the_evaluation_once(catalog: Catalog) -> None:
    raw = {
        "note_type": "initial_evaluation",
        "interventions": [
            {"technique": "evaluation-moderate", "minutes": 40},
            {
                "technique": "self-care-training",
                "minutes": 12,
                "parameters": {"topics": ["sleeping positions"]},
            },
        ],
    }
    summary = bill_note(validate_note_content(raw, catalog), catalog, "in_clinic")
    assert summary.lines == (
        BillingLine("97535", 1, 12, True, ("GP",), "11", "Self-care / home management training"),
        BillingLine("97162", 1, 40, False, ("GP",), "11", "PT evaluation, moderate complexity"),
    )


def test_telehealth_claim_constants() -> None:
    assert (MODIFIER_TELEHEALTH, MODIFIER_PHYSICAL_THERAPY) == ("95", "GP")
    assert {PLACE_OF_SERVICE_TELEHEALTH_HOME, PLACE_OF_SERVICE_TELEHEALTH_OTHER} == {"10", "02"}


@pytest.mark.parametrize(
    ("modality", "location", "modifiers", "place"),
    [
        # A video visit from home: synchronous telehealth (95) under a PT plan of care (GP), POS 10.
        ("virtual", "home", ("95", "GP"), "10"),
        # Not recorded: this clinic's patients join from home, so POS 10.
        ("virtual", None, ("95", "GP"), "10"),
        # Joined from work or a car: telehealth other than in the patient's home, POS 02.
        ("virtual", "other", ("95", "GP"), "02"),
        # In the clinic: no telehealth modifier, office POS 11, whatever the location field says.
        ("in_clinic", None, ("GP",), "11"),
        ("in_clinic", "other", ("GP",), "11"),
    ],
)
def test_modifiers_and_place_of_service_follow_where_the_visit_and_patient_were(
    modality: str, location: str | None, modifiers: tuple[str, ...], place: str
) -> None:
    setting = claim_setting(modality, location)  # type: ignore[arg-type]
    assert setting == ClaimSetting(modifiers, place)


def test_place_of_service_names() -> None:
    assert claim_setting("virtual", "home").place_of_service_name == (
        "Telehealth provided in patient's home"
    )
    assert claim_setting("virtual", "other").place_of_service_name == (
        "Telehealth provided other than in patient's home"
    )
    assert claim_setting("in_clinic", None).place_of_service_name == "Office"


def test_every_line_of_a_video_visit_from_elsewhere_carries_95_gp_and_pos_02(
    catalog: Catalog,
) -> None:
    note = validate_note_content({**daily_note(), "patient_location": "other"}, catalog)
    summary = bill_note(note, catalog, "virtual")
    assert [(line.cpt, line.modifiers, line.place_of_service) for line in summary.lines] == [
        ("97110", ("95", "GP"), "02"),
        ("97140", ("95", "GP"), "02"),
    ]
    assert summary.setting == ClaimSetting(("95", "GP"), "02")


def test_an_unrecorded_location_is_left_out_of_the_stored_content(catalog: Catalog) -> None:
    # Notes stored before the field existed keep their exact stored form (and content hash).
    stored = validate_note_content(daily_note(), catalog).model_dump(mode="json")
    assert "patient_location" not in stored
    recorded = validate_note_content({**daily_note(), "patient_location": "home"}, catalog)
    assert recorded.model_dump(mode="json")["patient_location"] == "home"


def test_units_are_worded_singular_and_plural() -> None:
    assert [units_text(n) for n in (0, 1, 2, 3)] == ["0 units", "1 unit", "2 units", "3 units"]


def test_cpt_names(catalog: Catalog) -> None:
    assert cpt_name("97140") == "Manual therapy techniques"
    assert cpt_name("97110", catalog) == "Therapeutic exercise"
    # A code no table names: the code itself.
    assert cpt_name("99999") == "99999"
