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
    allocate_timed_units,
    bill_minutes,
    bill_note,
    units_for_minutes,
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
    assert summary.lines == (BillingLine("97110", 2, 23, True), BillingLine("97140", 1, 23, True))
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
    summary = bill_note(validate_note_content(raw, catalog), catalog)
    assert summary.lines == (BillingLine("97535", 1, 12, True), BillingLine("97162", 1, 40, False))


def test_telehealth_claim_constants() -> None:
    assert (MODIFIER_TELEHEALTH, MODIFIER_PHYSICAL_THERAPY) == ("95", "GP")
    assert {PLACE_OF_SERVICE_TELEHEALTH_HOME, PLACE_OF_SERVICE_TELEHEALTH_OTHER} == {"10", "02"}
