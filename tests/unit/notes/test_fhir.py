from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B import __fhir_version__ as r4b_version
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.procedure import Procedure

from telehealth.catalog import Catalog
from telehealth.notes.fhir import (
    ACT_CODE_SYSTEM,
    CPT_SYSTEM,
    ICD10CM_SYSTEM,
    NoteContext,
    appointment_resource,
    bundle,
    care_plan_resource,
    condition_resources,
    derived_id,
    encounter_resource,
    fhir_instant,
    note_resources,
    patient_resource,
    practitioner_resource,
    procedure_resources,
)
from telehealth.notes.rules import NoteContent, validate_note_content
from tests.unit.notes.samples import daily_note

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PATIENT_ID = str(uuid.UUID(int=1))
PRACTITIONER_ID = str(uuid.UUID(int=2))
APPOINTMENT_ID = str(uuid.UUID(int=3))
ENCOUNTER_ID = str(uuid.UUID(int=4))
NOTE_ID = str(uuid.UUID(int=5))
CTX = NoteContext(
    note_id=NOTE_ID,
    patient_ref=f"Patient/{PATIENT_ID}",
    practitioner_ref=f"Practitioner/{PRACTITIONER_ID}",
    encounter_ref=f"Encounter/{ENCOUNTER_ID}",
    performed_start=START,
    performed_end=START + timedelta(minutes=45),
    recorded_at=START + timedelta(minutes=50),
)


@pytest.fixture
def note(catalog: Catalog) -> NoteContent:
    return validate_note_content(daily_note(), catalog)


def test_the_models_used_are_fhir_4() -> None:
    # fhir.resources defaults to R5; R4B (4.3) is the R4-compatible package it ships.
    assert r4b_version.startswith("4.")


def test_conditions_are_coded_in_icd10cm_and_validate(note: NoteContent, catalog: Catalog) -> None:
    conditions = condition_resources(note, catalog, CTX)
    assert len(conditions) == 2
    for resource in conditions:
        Condition.model_validate(resource)
    coding = conditions[0]["code"]["coding"][0]
    assert coding == {
        "system": ICD10CM_SYSTEM,
        "code": "M16.11",
        "display": "Unilateral primary osteoarthritis, right hip",
    }
    assert conditions[0]["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert conditions[0]["recordedDate"] == "2026-03-02T15:50:00Z"


def test_one_procedure_per_technique_line_coded_in_cpt(note: NoteContent, catalog: Catalog) -> None:
    procedures = procedure_resources(note, catalog, CTX)
    assert [p["code"]["coding"][0]["code"] for p in procedures] == [
        "97110",
        "97140",
        "97140",
        "97140",
    ]
    for resource in procedures:
        Procedure.model_validate(resource)
        assert resource["code"]["coding"][0]["system"] == CPT_SYSTEM
        assert resource["status"] == "completed"
    mobilization = procedures[1]
    assert mobilization["bodySite"] == [{"text": "hip, right"}]
    assert "grade: III" in mobilization["note"][0]["text"]
    assert mobilization["reasonReference"][0] == {
        "reference": f"Condition/{derived_id(NOTE_ID, 'condition', 0)}"
    }


def test_home_exercises_become_care_plan_activities(note: NoteContent, catalog: Catalog) -> None:
    plan = care_plan_resource(note, catalog, CTX)
    assert plan is not None
    CarePlan.model_validate(plan)
    activities = plan["activity"]
    assert [a["detail"]["code"]["text"] for a in activities] == ["Bridge", "Piriformis stretch"]
    assert activities[1]["detail"]["scheduledTiming"]["repeat"]["frequency"] == 2
    assert "hold each for 30 seconds" in activities[1]["detail"]["description"]
    assert "Stop if pain shoots down the leg" in activities[0]["detail"]["description"]


def test_no_home_program_means_no_care_plan(catalog: Catalog) -> None:
    raw = daily_note()
    raw["home_program"] = []
    assert care_plan_resource(validate_note_content(raw, catalog), catalog, CTX) is None


def test_derived_ids_are_stable_and_distinct(note: NoteContent, catalog: Catalog) -> None:
    first = [r["id"] for r in note_resources(note, catalog, CTX)]
    again = [r["id"] for r in note_resources(note, catalog, CTX)]
    assert first == again
    assert len(set(first)) == len(first) == 7


def test_visit_helpers_build_valid_resources() -> None:
    Patient.model_validate(
        patient_resource(
            PATIENT_ID, "Rivera", ["Ana"], birth_date=date(1958, 4, 9), email="ana@example.org"
        )
    )
    Practitioner.model_validate(
        practitioner_resource(PRACTITIONER_ID, "Okafor", ["Chidi"], npi="1234567893")
    )
    Appointment.model_validate(
        appointment_resource(
            APPOINTMENT_ID,
            "fulfilled",
            START,
            START + timedelta(minutes=45),
            CTX.patient_ref,
            CTX.practitioner_ref,
        )
    )
    encounter = encounter_resource(
        ENCOUNTER_ID,
        "finished",
        CTX.patient_ref,
        CTX.practitioner_ref,
        START,
        START + timedelta(minutes=45),
        appointment_ref=f"Appointment/{APPOINTMENT_ID}",
    )
    Encounter.model_validate(encounter)
    assert encounter["class"]["code"] == "VR"
    in_clinic = encounter_resource(
        ENCOUNTER_ID, "finished", CTX.patient_ref, CTX.practitioner_ref, START, modality="in_clinic"
    )
    Encounter.model_validate(in_clinic)
    assert in_clinic["class"] == {"system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory"}


def whole_visit(note: NoteContent, catalog: Catalog) -> list[dict[str, Any]]:
    return [
        patient_resource(PATIENT_ID, "Rivera", ["Ana"]),
        practitioner_resource(PRACTITIONER_ID, "Okafor", ["Chidi"]),
        appointment_resource(
            APPOINTMENT_ID,
            "fulfilled",
            START,
            CTX.performed_end,
            CTX.patient_ref,
            CTX.practitioner_ref,
        ),
        encounter_resource(ENCOUNTER_ID, "finished", CTX.patient_ref, CTX.practitioner_ref, START),
        *note_resources(note, catalog, CTX),
    ]


@pytest.mark.parametrize("bundle_type", ["collection", "searchset"])
def test_a_whole_visit_bundle_validates(
    bundle_type: Any, note: NoteContent, catalog: Catalog
) -> None:
    built = bundle(
        whole_visit(note, catalog), bundle_type, bundle_id=str(uuid.UUID(int=9)), timestamp=START
    )
    parsed = Bundle.model_validate(built)
    assert parsed.type == bundle_type
    assert parsed.entry is not None
    kinds = [type(entry.resource).__name__ for entry in parsed.entry]
    assert kinds == [
        "Patient",
        "Practitioner",
        "Appointment",
        "Encounter",
        "Condition",
        "Condition",
        "Procedure",
        "Procedure",
        "Procedure",
        "Procedure",
        "CarePlan",
    ]
    assert built["entry"][0]["fullUrl"] == f"urn:uuid:{PATIENT_ID}"
    if bundle_type == "searchset":
        assert built["total"] == 11
        assert built["entry"][0]["search"] == {"mode": "match"}


def test_bundle_full_urls_follow_a_server_base(note: NoteContent, catalog: Catalog) -> None:
    built = bundle(whole_visit(note, catalog), base_url="https://clinic.example/fhir/")
    Bundle.model_validate(built)
    assert built["entry"][0]["fullUrl"] == f"https://clinic.example/fhir/Patient/{PATIENT_ID}"


def test_bundle_without_base_needs_uuid_ids() -> None:
    with pytest.raises(ValueError):
        bundle([patient_resource("patient-7", "Rivera")])


def test_a_broken_resource_fails_validation(note: NoteContent, catalog: Catalog) -> None:
    # Guards the checks above: the models do reject what R4 does not allow.
    condition = condition_resources(note, catalog, CTX)[0]
    del condition["subject"]
    with pytest.raises(ValueError):
        Condition.model_validate(condition)


def test_fhir_times_need_a_timezone() -> None:
    assert fhir_instant(START) == "2026-03-02T15:00:00Z"
    with pytest.raises(ValueError):
        fhir_instant(datetime(2026, 3, 2, 15, 0))
