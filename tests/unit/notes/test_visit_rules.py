"""When a note may be signed, and what copy forward and templates put in a new draft."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.catalog import Catalog
from telehealth.errors import Conflict, InvalidInput
from telehealth.notes.template_rules import copy_forward, draft_from_template, validate_template
from telehealth.notes.visit_rules import require_signable_visit, visit_started

from .samples import daily_note

START = datetime(2026, 6, 1, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("modality", "status", "now", "started"),
    [
        ("virtual", "booked", START - timedelta(minutes=5), False),
        ("virtual", "booked", START + timedelta(minutes=30), False),
        ("virtual", "checked_in", START - timedelta(minutes=5), True),
        ("virtual", "in_progress", START, True),
        ("virtual", "completed", START + timedelta(hours=1), True),
        ("in_clinic", "booked", START - timedelta(seconds=1), False),
        ("in_clinic", "booked", START, True),
        ("in_clinic", "cancelled", START + timedelta(minutes=5), False),
        ("virtual", "no_show", START + timedelta(minutes=20), False),
    ],
)
def test_visit_started(modality: str, status: str, now: datetime, started: bool) -> None:
    assert visit_started(modality, status, START, now) is started


@pytest.mark.parametrize(
    ("status", "code"), [("booked", "visit_not_started"), ("no_show", "visit_not_held")]
)
def test_refusals_are_named(status: str, code: str) -> None:
    with pytest.raises(Conflict) as refused:
        require_signable_visit("virtual", status, START, START + timedelta(hours=1))
    assert refused.value.code == code and refused.value.status == 409


def test_copy_forward_takes_structure_not_narrative(catalog: Catalog) -> None:
    earlier = daily_note()
    draft = draft_from_template("daily", {"subjective": "Today:", "plan": "Continue."})
    copied = copy_forward(draft, earlier, catalog)
    assert copied["subjective"] == "Today:" and copied["plan"] == "Continue."
    assert [d["code"] for d in copied["diagnoses"]] == [d["code"] for d in earlier["diagnoses"]]
    assert [line["technique"] for line in copied["interventions"]] == [
        line["technique"] for line in earlier["interventions"]
    ]
    assert copied["pain_before"] is None and copied["patient_message"] == ""


def test_evaluation_lines_are_not_carried_forward(catalog: Catalog) -> None:
    evaluation = next(t.id for t in catalog.techniques.values() if t.cpt == "97161")
    earlier = {
        **daily_note(),
        "note_type": "initial_evaluation",
        "interventions": [{"technique": evaluation, "minutes": 30, "parameters": {}}],
    }
    copied = copy_forward(draft_from_template("daily", None), earlier, catalog)
    assert copied["interventions"] == []


def test_a_template_is_checked_as_the_start_of_a_note(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput):
        validate_template({"signature": "x"}, "daily", catalog)
    with pytest.raises(InvalidInput):
        validate_template(
            {"interventions": [{"technique": "nope", "minutes": 5}]}, "daily", catalog
        )
    assert validate_template({"plan": "Continue."}, "daily", catalog)["plan"] == "Continue."
