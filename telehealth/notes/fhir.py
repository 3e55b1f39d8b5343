"""FHIR R4 resources (as plain dicts) for a signed note and the visit around it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from telehealth.catalog.loader import Catalog
from telehealth.notes.rules import InterventionLine, NoteContent
from telehealth.notes.summary import describe_dosage

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# Ids of derived resources are name-based UUIDs, so exporting the same note twice yields the same
# ids and a receiver can update instead of duplicating.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:telehealth:fhir")

Resource = dict[str, Any]
BundleType = Literal["collection", "searchset"]
_SIDES = {"left": "left", "right": "right", "bilateral": "both sides"}
_REGIONS = {
    "hip": "hip",
    "lower_back": "lower back",
    "pelvis": "pelvis",
    "abdomen": "abdomen",
    "neck": "neck",
    "shoulder": "shoulder",
    "knee": "knee",
    "lower_limb": "lower limb",
    "upper_limb": "upper limb",
    "whole_body": "whole body",
}


@dataclass(frozen=True)
class NoteContext:
    """Who and when around a note: the ids and references the database layer already holds."""

    note_id: str
    patient_ref: str
    practitioner_ref: str
    encounter_ref: str
    performed_start: datetime
    performed_end: datetime
    recorded_at: datetime


def fhir_instant(when: datetime) -> str:
    """A timezone-aware time as a FHIR instant in UTC, to the second."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("FHIR times must carry a timezone")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def derived_id(note_id: str, kind: str, index: int = 0) -> str:
    """Stable id of a resource derived from a note (the n-th Condition, the CarePlan, ...)."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{note_id}/{kind}/{index}"))


def _ref(reference: str) -> dict[str, str]:
    return {"reference": reference}


def condition_resources(note: NoteContent, catalog: Catalog, ctx: NoteContext) -> list[Resource]:
    """One Condition per diagnosis, coded in ICD-10-CM."""
    resources: list[Resource] = []
    for index, diagnosis in enumerate(note.diagnoses):
        display = catalog.code_description(diagnosis.code)
        resources.append(
            {
                "resourceType": "Condition",
                "id": derived_id(ctx.note_id, "condition", index),
                "clinicalStatus": {
                    "coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": "active"}]
                },
                "verificationStatus": {
                    "coding": [{"system": CONDITION_VERIFICATION_SYSTEM, "code": "confirmed"}]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": CONDITION_CATEGORY_SYSTEM,
                                "code": "encounter-diagnosis",
                                "display": "Encounter Diagnosis",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {"system": ICD10CM_SYSTEM, "code": diagnosis.code, "display": display}
                    ],
                    "text": catalog.diagnosis_name(diagnosis.code),
                },
                "subject": _ref(ctx.patient_ref),
                "encounter": _ref(ctx.encounter_ref),
                "recordedDate": fhir_instant(ctx.recorded_at),
                "recorder": _ref(ctx.practitioner_ref),
            }
        )
    return resources


def _body_site(line: InterventionLine) -> list[dict[str, str]]:
    if line.region is None:
        return []
    site = _REGIONS[line.region]
    if line.side in _SIDES:
        site = f"{site}, {_SIDES[line.side]}"
    return [{"text": site}]


def _parameter_text(line: InterventionLine) -> str:
    parts = [f"{line.minutes} min"]
    for name, value in sorted(line.parameters.items()):
        if isinstance(value, list):
            shown = ", ".join(
                str(item.get("exercise")) if isinstance(item, dict) else str(item) for item in value
            )
        else:
            shown = str(value)
        parts.append(f"{name.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def procedure_resources(note: NoteContent, catalog: Catalog, ctx: NoteContext) -> list[Resource]:
    """One completed Procedure per intervention line, coded in CPT, for the note's diagnoses."""
    reasons = [
        _ref(f"Condition/{derived_id(ctx.note_id, 'condition', i)}")
        for i in range(len(note.diagnoses))
    ]
    resources: list[Resource] = []
    for index, line in enumerate(note.interventions):
        technique = catalog.technique(line.technique)
        procedure: Resource = {
            "resourceType": "Procedure",
            "id": derived_id(ctx.note_id, "procedure", index),
            "status": "completed",
            "code": {
                "coding": [
                    {"system": CPT_SYSTEM, "code": technique.cpt, "display": technique.name}
                ],
                "text": technique.name,
            },
            "subject": _ref(ctx.patient_ref),
            "encounter": _ref(ctx.encounter_ref),
            "performedPeriod": {
                "start": fhir_instant(ctx.performed_start),
                "end": fhir_instant(ctx.performed_end),
            },
            "performer": [{"actor": _ref(ctx.practitioner_ref)}],
            "note": [{"text": _parameter_text(line)}],
        }
        if body_site := _body_site(line):
            procedure["bodySite"] = body_site
        if reasons:
            procedure["reasonReference"] = reasons
        resources.append(procedure)
    return resources


def care_plan_resource(note: NoteContent, catalog: Catalog, ctx: NoteContext) -> Resource | None:
    """The home exercise program as a CarePlan, one activity per exercise (None if no program)."""
    if not note.home_program:
        return None
    activities = []
    for item in note.home_program:
        exercise = catalog.exercise(item.exercise)
        how = " ".join(f"{n}. {step}" for n, step in enumerate(exercise.steps, start=1))
        description = f"{describe_dosage(item)}. {how} Cautions: {' '.join(exercise.cautions)}"
        if item.note:
            description += f" Note: {item.note}"
        activities.append(
            {
                "detail": {
                    "code": {"text": exercise.name},
                    "status": "not-started",
                    "description": description,
                    "scheduledTiming": {
                        "repeat": {"frequency": item.per_day, "period": 1, "periodUnit": "d"}
                    },
                }
            }
        )
    plan: Resource = {
        "resourceType": "CarePlan",
        "id": derived_id(ctx.note_id, "careplan"),
        "status": "active",
        "intent": "plan",
        "title": "Home exercise program",
        "category": [{"text": "Home exercise program"}],
        "subject": _ref(ctx.patient_ref),
        "encounter": _ref(ctx.encounter_ref),
        "period": {"start": fhir_instant(ctx.recorded_at)},
        "created": fhir_instant(ctx.recorded_at),
        "author": _ref(ctx.practitioner_ref),
        "activity": activities,
    }
    if note.diagnoses:
        plan["addresses"] = [
            _ref(f"Condition/{derived_id(ctx.note_id, 'condition', i)}")
            for i in range(len(note.diagnoses))
        ]
    return plan


def note_resources(note: NoteContent, catalog: Catalog, ctx: NoteContext) -> list[Resource]:
    """All resources derived from a note: Conditions, Procedures and the CarePlan if any."""
    resources = condition_resources(note, catalog, ctx) + procedure_resources(note, catalog, ctx)
    plan = care_plan_resource(note, catalog, ctx)
    return resources if plan is None else [*resources, plan]


def split_name(display_name: str) -> tuple[str, list[str]]:
    """A display name as FHIR's family and given names (the last word is the family name)."""
    parts = display_name.split()
    if not parts:
        return "Unknown", []
    return parts[-1], parts[:-1]


def _human_name(family: str, given: Sequence[str]) -> dict[str, Any]:
    name: dict[str, Any] = {"use": "official", "family": family}
    if given:
        name["given"] = list(given)
    return name


def patient_resource(
    patient_id: str,
    family: str,
    given: Sequence[str] = (),
    *,
    birth_date: date | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Resource:
    """A Patient with name, birth date and contact points."""
    patient: Resource = {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [_human_name(family, given)],
    }
    telecom = [
        {"system": system, "value": value}
        for system, value in (("email", email), ("phone", phone))
        if value
    ]
    if telecom:
        patient["telecom"] = telecom
    if birth_date is not None:
        patient["birthDate"] = birth_date.isoformat()
    return patient


def practitioner_resource(
    practitioner_id: str, family: str, given: Sequence[str] = (), *, npi: str | None = None
) -> Resource:
    """A Practitioner with name and, when known, the NPI."""
    practitioner: Resource = {
        "resourceType": "Practitioner",
        "id": practitioner_id,
        "name": [_human_name(family, given)],
    }
    if npi:
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": npi}]
    return practitioner


AppointmentStatus = Literal[
    "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "checked-in"
]
EncounterStatus = Literal["planned", "arrived", "in-progress", "finished", "cancelled"]


def appointment_resource(
    appointment_id: str,
    status: AppointmentStatus,
    start: datetime,
    end: datetime,
    patient_ref: str,
    practitioner_ref: str,
    *,
    description: str = "Physical therapy video visit",
) -> Resource:
    """An Appointment between a patient and a practitioner, both accepted participants."""
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "description": description,
        "start": fhir_instant(start),
        "end": fhir_instant(end),
        "participant": [
            {"actor": _ref(patient_ref), "status": "accepted"},
            {"actor": _ref(practitioner_ref), "status": "accepted"},
        ],
    }


def encounter_resource(
    encounter_id: str,
    status: EncounterStatus,
    patient_ref: str,
    practitioner_ref: str,
    start: datetime,
    end: datetime | None = None,
    *,
    appointment_ref: str | None = None,
    modality: str = "virtual",
) -> Resource:
    """An Encounter of the patient with the practitioner: virtual (VR) for a video visit,
    ambulatory (AMB) for one held in the clinic."""
    period = {"start": fhir_instant(start)}
    if end is not None:
        period["end"] = fhir_instant(end)
    encounter: Resource = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "status": status,
        "class": (
            {"system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory"}
            if modality == "in_clinic"
            else {"system": ACT_CODE_SYSTEM, "code": "VR", "display": "virtual"}
        ),
        "subject": _ref(patient_ref),
        "participant": [{"individual": _ref(practitioner_ref)}],
        "period": period,
    }
    if appointment_ref:
        encounter["appointment"] = [_ref(appointment_ref)]
    return encounter


def _full_url(resource: Mapping[str, Any], base_url: str | None) -> str:
    if base_url:
        return f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
    # Without a server base, entries are named by their UUID; raises for ids that are not UUIDs.
    return uuid.UUID(str(resource["id"])).urn


def bundle(
    resources: Iterable[Mapping[str, Any]],
    bundle_type: BundleType = "collection",
    *,
    bundle_id: str | None = None,
    timestamp: datetime | None = None,
    base_url: str | None = None,
) -> Resource:
    """A Bundle of the resources; fullUrl under base_url, or urn:uuid when there is none."""
    entries: list[dict[str, Any]] = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": _full_url(resource, base_url),
            "resource": dict(resource),
        }
        if bundle_type == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    result: Resource = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    if bundle_id is not None:
        result["id"] = bundle_id
    if timestamp is not None:
        result["timestamp"] = fhir_instant(timestamp)
    if bundle_type == "searchset":
        result["total"] = len(entries)
    return result
