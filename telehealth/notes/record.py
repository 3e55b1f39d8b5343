"""The signed note as a person reads it: every documented fact in words, for the PDF.

Pure: the service hands in the note, its billing, the catalog and the names it looked up; the
result is headings and lines of plain text that the PDF renderer lays out as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from telehealth.catalog.entries import TechniqueEntry
from telehealth.catalog.loader import Catalog
from telehealth.notes.billing import BillingSummary, units_text
from telehealth.notes.rules import ExercisePrescription, InterventionLine, NoteContent
from telehealth.notes.summary import describe_dosage

NOTE_TYPE_NAMES = {
    "initial_evaluation": "Initial evaluation",
    "daily": "Daily note",
    "progress": "Progress note",
    "re_evaluation": "Re-evaluation",
    "discharge": "Discharge summary",
}
MODALITY_NAMES = {"virtual": "Video visit", "in_clinic": "In-clinic visit"}
LOCATION_NAMES = {
    "home": "at home",
    "other": "not at home",
    None: "not recorded (counted as at home)",
}
SIDE_NAMES = {"left": "left", "right": "right", "bilateral": "both sides"}
REGION_NAMES = {
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
SOAP = (
    ("subjective", "Subjective"),
    ("objective", "Objective"),
    ("assessment", "Assessment"),
    ("plan", "Plan"),
)
TIME_FORMAT = "%d %b %Y, %H:%M %Z"


@dataclass(frozen=True)
class AddendumFacts:
    """An addendum as written, with its author's name."""

    author_name: str
    written_at: datetime
    reason: str
    text: str


@dataclass(frozen=True)
class RecordFacts:
    """What the service knows around the note: people, visit, signature, where times are read."""

    clinic_name: str
    patient_name: str
    date_of_birth: date | None
    therapist_name: str
    visit_start: datetime
    modality: str
    signer_name: str
    signed_at: datetime
    verified: bool
    content_hash: str
    zone: str
    addenda: tuple[AddendumFacts, ...] = ()


@dataclass(frozen=True)
class RecordSection:
    """A heading and its lines; an indented line (detail) belongs to the line above it."""

    heading: str
    lines: tuple[str, ...]
    details: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class NoteRecord:
    """The signed note in words: a title, header facts (label, value) and sections."""

    title: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[RecordSection, ...]


def local(when: datetime, zone: str) -> str:
    """A UTC time in the reader's zone, e.g. '02 Mar 2026, 10:00 CET'."""
    return when.astimezone(ZoneInfo(zone)).strftime(TIME_FORMAT)


def parameter_text(technique: TechniqueEntry, name: str, value: JsonValue) -> str:
    """One technique parameter in words: 'Maitland grade: III', 'Muscles treated: a, b'."""
    spec = technique.parameter(name)
    label = spec.label if spec is not None else name.replace("_", " ")
    if isinstance(value, list):
        items = [_exercise_text(v) if isinstance(v, dict) else str(v) for v in value]
        return f"{label}: " + ("; ".join(items) if items else "none")
    return f"{label}: {value}"


def _exercise_text(raw: dict[str, JsonValue]) -> str:
    item = ExercisePrescription.model_validate(raw)
    return f"{item.exercise}, {describe_dosage(item)}"


def technique_lines(
    line: InterventionLine, units: int, catalog: Catalog
) -> tuple[str, tuple[str, ...]]:
    """A technique line's heading and its parameter lines, every value in words."""
    technique = catalog.technique(line.technique)
    where = [REGION_NAMES[line.region]] if line.region else []
    if line.side != "none":
        where.append(SIDE_NAMES[line.side])
    head = f"{technique.name} (CPT {technique.cpt})"
    if where:
        head += " — " + ", ".join(where)
    head += f" — {line.minutes} min, {units_text(units)}"
    details = []
    for spec in technique.parameters:
        if spec.name in line.parameters:
            value = line.parameters[spec.name]
            if spec.type == "exercise_list" and isinstance(value, list):
                value = [_named_exercise(v, catalog) for v in value]
            details.append(parameter_text(technique, spec.name, value))
    return head, tuple(details)


def _named_exercise(value: JsonValue, catalog: Catalog) -> JsonValue:
    # Parameters store exercise ids; a reader wants the exercise's name.
    if isinstance(value, dict) and isinstance(value.get("exercise"), str):
        exercise = catalog.exercises.get(str(value["exercise"]))
        if exercise is not None:
            return {**value, "exercise": exercise.name}
    return value


def diagnosis_line(code: str, laterality: str | None, catalog: Catalog) -> str:
    """'M16.11 Unilateral primary osteoarthritis, right hip — right'."""
    # Any code of the code set may be a diagnosis: its title comes from the code set.
    name = catalog.code_description(code)
    side = f" — {SIDE_NAMES[laterality]}" if laterality else ""
    return f"{code} {name}{side}"


def build_record(
    note_type: str,
    content: NoteContent,
    billing: BillingSummary,
    line_units: Sequence[int],
    catalog: Catalog,
    facts: RecordFacts,
) -> NoteRecord:
    """The signed note, every section and code in words, in reading order."""
    zone = facts.zone
    setting = billing.setting
    header: list[tuple[str, str]] = [("Patient", facts.patient_name)]
    if facts.date_of_birth is not None:
        header.append(("Date of birth", facts.date_of_birth.strftime("%d %b %Y")))
    header += [
        ("Visit", local(facts.visit_start, zone)),
        ("Modality", MODALITY_NAMES.get(facts.modality, facts.modality)),
    ]
    if facts.modality != "in_clinic":
        header.append(("Patient was", LOCATION_NAMES[content.patient_location]))
    header.append(("Therapist", facts.therapist_name))

    sections = [
        RecordSection(label, (getattr(content, key).strip() or "—",)) for key, label in SOAP
    ]
    if content.pain_before is not None or content.pain_after is not None:
        before = "—" if content.pain_before is None else f"{content.pain_before}/10"
        after = "—" if content.pain_after is None else f"{content.pain_after}/10"
        sections.append(RecordSection("Pain", (f"At start {before}, at end {after}",)))
    sections.append(
        RecordSection(
            "Diagnoses (ICD-10-CM)",
            tuple(diagnosis_line(d.code, d.laterality, catalog) for d in content.diagnoses)
            or ("None recorded",),
        )
    )
    heads: list[str] = []
    details: list[tuple[str, ...]] = []
    for index, line in enumerate(content.interventions):
        units = line_units[index] if index < len(line_units) else 0
        head, params = technique_lines(line, units, catalog)
        heads.append(head)
        details.append(params)
    sections.append(RecordSection("Techniques", tuple(heads) or ("None recorded",), tuple(details)))
    program = []
    for item in content.home_program:
        exercise = catalog.exercises.get(item.exercise)
        text = f"{exercise.name if exercise else item.exercise}: {describe_dosage(item)}"
        if item.note.strip():
            text += f" — {item.note.strip()}"
        program.append(text)
    sections.append(RecordSection("Home program", tuple(program) or ("None prescribed",)))
    bill = [
        f"CPT {b.cpt} {b.name} — {units_text(b.units)} ({b.minutes} min"
        + ("" if b.timed else ", untimed")
        + ")"
        + (f" — modifiers {', '.join(b.modifiers)}" if b.modifiers else "")
        + (f" — POS {b.place_of_service}" if b.place_of_service else "")
        for b in billing.lines
    ]
    total = f"Total {units_text(billing.total_units)}; {billing.timed_minutes} timed minutes"
    if setting is not None:
        total += f"; place of service {setting.place_of_service} ({setting.place_of_service_name})"
    sections.append(RecordSection("Billing", (*bill, total) if bill else ("Nothing billed",)))
    if content.patient_message.strip():
        sections.append(RecordSection("Message for the patient", (content.patient_message,)))
    status = "Verified" if facts.verified else "NOT VERIFIED: the content does not match its seal"
    sections.append(
        RecordSection(
            "Signature",
            (
                f"Signed by {facts.signer_name} on {local(facts.signed_at, zone)}",
                status,
                f"Content SHA-256 {facts.content_hash}",
            ),
        )
    )
    sections.append(
        RecordSection(
            "Addenda",
            tuple(
                f"{local(a.written_at, zone)}, {a.author_name} — {a.reason}: {a.text}"
                for a in facts.addenda
            )
            or ("None",),
        )
    )
    title = f"{facts.clinic_name} — {NOTE_TYPE_NAMES.get(note_type, note_type)}"
    return NoteRecord(title=title, facts=tuple(header), sections=tuple(sections))
