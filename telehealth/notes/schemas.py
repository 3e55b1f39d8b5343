"""Request and response models of the notes API (and what the note editor reads)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from telehealth.actors import Actor
from telehealth.catalog.diagnoses import DiagnosisHit
from telehealth.catalog.entries import ConditionEntry, ExerciseEntry, TechniqueEntry
from telehealth.catalog.icd10cm import MAX_QUERY_CHARS, MAX_RESULTS
from telehealth.catalog.loader import Catalog
from telehealth.http.schemas import (
    JsonInt,
    QueryDate,
    QueryModel,
    RequestModel,
    ResponseModel,
    SafeJsonObject,
    SafeStr,
    SafeText,
)
from telehealth.notes.reports import TechniqueReport, TreatmentHistory
from telehealth.notes.rules import NoteType
from telehealth.notes.service import CurrentExercise, NoteView, SummaryView, withdrawal_of

MAX_REPORT_DAYS = 366 * 3


class NoteOpenIn(RequestModel):
    """Open (or create) the note of a visit; the type defaults from the visit's type."""

    note_type: NoteType | None = None


class NoteSaveIn(RequestModel):
    """An autosave: the full content and the version it was based on."""

    version: JsonInt = Field(ge=1)
    content: SafeJsonObject


class NoteCopyIn(RequestModel):
    """Copy forward into exactly the version the therapist is looking at (a new draft)."""

    version: JsonInt = Field(ge=1)


class NoteTemplateIn(RequestModel):
    """A new version of an appointment type's note template, based on the version in force."""

    version: JsonInt = Field(ge=0)
    document: SafeJsonObject


class NoteTemplateOut(ResponseModel):
    """An appointment type's note template in force (version 0 and empty: none yet)."""

    type_key: str
    type_name: str
    note_type: str
    version: int
    document: dict[str, Any]
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class NoteTemplatesOut(ResponseModel):
    """Every appointment type's template in force."""

    items: list[NoteTemplateOut]


class NoteSignIn(RequestModel):
    """Sign exactly the version the therapist is looking at."""

    version: JsonInt = Field(ge=1)


class AddendumIn(RequestModel):
    """Text added to a signed note, and why."""

    reason: SafeText = Field(min_length=1, max_length=500)
    text: SafeText = Field(min_length=1, max_length=10_000)


class EnteredInErrorIn(RequestModel):
    """Why a signed note should not exist (wrong patient, wrong visit)."""

    reason: SafeText = Field(min_length=1, max_length=500)


class FieldProblem(ResponseModel):
    """One problem, named by its field path."""

    field: str
    message: str


class BillingLineOut(ResponseModel):
    """Units billed for one CPT code, with the claim line's modifiers and place of service."""

    cpt: str
    name: str
    units: int
    minutes: int
    timed: bool
    modifiers: list[str]
    place_of_service: str


class BillingOut(ResponseModel):
    """The visit's billing by the 8-minute rule; modifiers and place of service of every line."""

    lines: list[BillingLineOut]
    timed_minutes: int
    timed_units: int
    untimed_units: int
    total_units: int
    modifiers: list[str]
    place_of_service: str
    place_of_service_name: str
    line_units: list[int]


class SignatureOut(ResponseModel):
    """Who signed, when (UTC), the content hash and keyed seal, and whether they still hold."""

    signed_by: uuid.UUID
    signer_name: str
    signed_at: datetime
    content_hash: str
    seal: str
    # The settings key that made the seal; null for a plain hash from before keyed seals.
    key_id: str | None
    verified: bool
    problems: list[str]


class AddendumOut(ResponseModel):
    """An addendum with its keyed seal, chained to the addendum before it (the first to the
    note's seal)."""

    id: uuid.UUID
    author_id: uuid.UUID
    written_at: datetime
    reason: str
    text: str
    parent_hash: str
    hash: str
    key_id: str | None
    kind: Literal["addendum", "entered_in_error"] = "addendum"


class EnteredInErrorOut(ResponseModel):
    """The mark that withdrew a signed note; the note and its signature stay as they were."""

    note_id: uuid.UUID
    appointment_id: uuid.UUID
    marked_by: uuid.UUID
    marked_at: datetime
    reason: str

    @classmethod
    def of(cls, addendum: Any, appointment_id: uuid.UUID) -> EnteredInErrorOut:
        """Build from the entered-in-error addendum row."""
        return cls(
            note_id=addendum.note_id,
            appointment_id=appointment_id,
            marked_by=addendum.author_id,
            marked_at=addendum.written_at,
            reason=addendum.reason,
        )


class NoteOut(ResponseModel):
    """A visit note with its billing, signature and addenda."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    note_type: str
    status: Literal["draft", "signed"]
    version: int
    content: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    editable: bool
    can_addend: bool
    billing: BillingOut
    signing_problems: list[FieldProblem]
    signature: SignatureOut | None
    addenda: list[AddendumOut]
    # Set when the note was withdrawn: it stays readable but counts nowhere.
    entered_in_error: EnteredInErrorOut | None = None
    # The signed note this draft was prefilled from (copy forward), and that note's visit start.
    copied_from: uuid.UUID | None = None
    copied_from_visit: datetime | None = None

    @classmethod
    def of(cls, view: NoteView, actor: Actor) -> NoteOut:
        """Build from a service view."""
        note = view.note
        withdrawal = withdrawal_of(view.addenda)
        signature = None
        if note.status == "signed" and note.signed_by and note.signed_at:
            signature = SignatureOut(
                signed_by=note.signed_by,
                signer_name=view.signer_name,
                signed_at=note.signed_at,
                content_hash=note.content_hash or "",
                seal=note.seal or "",
                key_id=note.seal_key_id,
                verified=not view.integrity_problems,
                problems=list(view.integrity_problems),
            )
        billing = view.billing
        setting = billing.setting
        assert setting is not None  # bill_note always sets it
        return cls(
            id=note.id,
            appointment_id=note.appointment_id,
            patient_id=note.patient_id,
            therapist_id=note.therapist_id,
            note_type=note.note_type,
            status="signed" if note.status == "signed" else "draft",
            version=note.version,
            content=note.content,
            created_at=note.created_at,
            updated_at=note.updated_at,
            editable=note.status == "draft" and note.therapist_id == actor.id,
            can_addend=note.status == "signed" and note.therapist_id == actor.id,
            billing=BillingOut(
                lines=[
                    BillingLineOut(
                        cpt=line.cpt,
                        name=line.name,
                        units=line.units,
                        minutes=line.minutes,
                        timed=line.timed,
                        modifiers=list(line.modifiers),
                        place_of_service=line.place_of_service,
                    )
                    for line in billing.lines
                ],
                timed_minutes=billing.timed_minutes,
                timed_units=billing.timed_units,
                untimed_units=billing.untimed_units,
                total_units=billing.total_units,
                modifiers=list(setting.modifiers),
                place_of_service=setting.place_of_service,
                place_of_service_name=setting.place_of_service_name,
                line_units=list(view.line_units),
            ),
            signing_problems=[FieldProblem.model_validate(p) for p in view.signing_problems],
            signature=signature,
            addenda=[AddendumOut.model_validate(row) for row in view.addenda],
            entered_in_error=(
                EnteredInErrorOut.of(withdrawal, note.appointment_id) if withdrawal else None
            ),
            copied_from=note.copied_from,
            copied_from_visit=view.copied_from_visit,
        )


class FindingOut(ResponseModel):
    """A condition found, in plain words."""

    name: str
    explanation: str
    side: str | None


class TreatmentOut(ResponseModel):
    """A technique used, in plain words."""

    name: str
    explanation: str
    areas: list[str]


class HomeExerciseOut(ResponseModel):
    """A home exercise: how, how much, when to stop."""

    exercise_id: str
    name: str
    steps: list[str]
    cautions: list[str]
    easier: str | None
    dosage: str
    note: str
    instructions: str | None
    cues: list[str]
    mistakes: list[str]
    illustration: str | None = Field(description="URL path of the exercise's drawing (SVG)")


class SummaryOut(ResponseModel):
    """The patient's summary of one signed visit."""

    appointment_id: uuid.UUID
    visit_start: datetime
    therapist_name: str
    signed_at: datetime
    title: str
    findings: list[FindingOut]
    treatments: list[TreatmentOut]
    home_exercises: list[HomeExerciseOut]
    pain: str | None
    next_steps: list[str]
    # The visit's real status, and whether its note was withdrawn (entered in error).
    visit_status: str = "completed"
    withdrawn: bool = False

    @classmethod
    def of(cls, view: SummaryView) -> SummaryOut:
        """Build from a service view."""
        summary = view.summary
        return cls(
            appointment_id=view.appointment.id,
            visit_start=view.appointment.start_at,
            therapist_name=view.therapist_name,
            signed_at=view.signed_at,
            title=summary.title,
            findings=[FindingOut.model_validate(f) for f in summary.findings],
            treatments=[TreatmentOut.model_validate(t) for t in summary.treatments],
            home_exercises=[HomeExerciseOut.model_validate(e) for e in summary.home_exercises],
            pain=summary.pain,
            next_steps=list(summary.next_steps),
            visit_status=view.appointment.status,
            withdrawn=view.withdrawn,
        )


class SummariesOut(ResponseModel):
    """A patient's visit summaries, newest first."""

    items: list[SummaryOut]


class CurrentExerciseOut(ResponseModel):
    """A home exercise in force, with where it was prescribed."""

    exercise: HomeExerciseOut
    prescribed_at: datetime
    appointment_id: uuid.UUID
    therapist_name: str

    @classmethod
    def of(cls, item: CurrentExercise) -> CurrentExerciseOut:
        """Build from a service value."""
        return cls(
            exercise=HomeExerciseOut.model_validate(item.exercise),
            prescribed_at=item.prescribed_at,
            appointment_id=item.appointment_id,
            therapist_name=item.therapist_name,
        )


class ExercisesOut(ResponseModel):
    """A patient's current home exercises."""

    items: list[CurrentExerciseOut]


class CatalogOut(ResponseModel):
    """The catalog in force, as the note editor needs it."""

    versions: dict[str, str]
    conditions: list[ConditionEntry]
    techniques: list[TechniqueEntry]
    exercises: list[ExerciseEntry]

    @classmethod
    def of(cls, catalog: Catalog) -> CatalogOut:
        """Build from the catalog."""
        return cls(
            versions=dict(catalog.versions),
            conditions=list(catalog.conditions.values()),
            techniques=list(catalog.techniques.values()),
            exercises=list(catalog.exercises.values()),
        )


class DiagnosisQuery(QueryModel):
    """A diagnosis search: a code prefix or words (all must match), and how many answers."""

    q: SafeStr = Field(min_length=2, max_length=MAX_QUERY_CHARS)
    limit: int = Field(default=20, ge=1, le=MAX_RESULTS)

    @model_validator(mode="after")
    def _has_letters(self) -> DiagnosisQuery:
        if not any(ch.isalnum() for ch in self.q):
            raise ValueError("q must contain a letter or digit")
        return self


class DiagnosisOut(ResponseModel):
    """A code for the picker: billable or not, and whether it is one of the clinic's."""

    code: str
    name: str
    billable: bool
    favourite: bool
    condition_id: str | None
    condition: str | None


class DiagnosesOut(ResponseModel):
    """Codes matching a search, the clinic's catalog codes first."""

    edition: str
    items: list[DiagnosisOut]

    @classmethod
    def of(cls, edition: str, hits: list[DiagnosisHit]) -> DiagnosesOut:
        """Build from the search."""
        return cls(edition=edition, items=[DiagnosisOut.model_validate(h) for h in hits])


class CatalogEntryIn(RequestModel):
    """An entry an admin adds to one of the catalogs."""

    kind: Literal["conditions", "techniques", "exercises"]
    entry: SafeJsonObject


class CatalogExtrasOut(ResponseModel):
    """The admin additions in force."""

    version: int
    document: dict[str, Any]


class DateRangeQuery(QueryModel):
    """An inclusive range of visit dates, in the clinic's time zone."""

    start: QueryDate
    end: QueryDate

    @model_validator(mode="after")
    def _ordered(self) -> DateRangeQuery:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if (self.end - self.start).days > MAX_REPORT_DAYS:
            raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")
        return self


class HistoryTechniqueOut(ResponseModel):
    """A technique used in one visit."""

    technique_id: str
    name: str
    cpt: str
    minutes: int
    units: int


class HistoryConditionOut(ResponseModel):
    """A diagnosis of the visit."""

    code: str
    name: str


class HistoryEntryOut(ResponseModel):
    """One signed visit in a treatment history."""

    appointment_id: uuid.UUID
    visit_start: datetime
    signed_at: datetime
    therapist_name: str
    note_type: str
    conditions: list[HistoryConditionOut]
    techniques: list[HistoryTechniqueOut]
    home_exercises: list[str]


class HistoryOut(ResponseModel):
    """A patient's treatment history from signed notes, oldest first."""

    patient_id: uuid.UUID
    entries: list[HistoryEntryOut]

    @classmethod
    def of(cls, history: TreatmentHistory) -> HistoryOut:
        """Build from the report."""
        return cls(
            patient_id=history.patient.id,
            entries=[
                HistoryEntryOut(
                    appointment_id=e.appointment_id,
                    visit_start=e.visit_start,
                    signed_at=e.signed_at,
                    therapist_name=e.therapist_name,
                    note_type=e.note_type,
                    conditions=[HistoryConditionOut(code=c, name=n) for c, n in e.conditions],
                    techniques=[HistoryTechniqueOut.model_validate(t) for t in e.techniques],
                    home_exercises=list(e.home_exercises),
                )
                for e in history.entries
            ],
        )


class TechniqueRowOut(ResponseModel):
    """A technique used for a condition: visits, minutes and units."""

    condition_id: str
    condition: str
    technique_id: str
    technique: str
    cpt: str
    visits: int
    minutes: int
    units: int


class TechniqueReportOut(ResponseModel):
    """Techniques by condition over a range of visit dates."""

    start: date
    end: date
    time_zone: str
    notes: int
    total_minutes: int
    total_units: int
    rows: list[TechniqueRowOut]

    @classmethod
    def of(cls, report: TechniqueReport) -> TechniqueReportOut:
        """Build from the report."""
        return cls(
            start=report.start,
            end=report.end,
            time_zone=report.time_zone,
            notes=report.notes,
            total_minutes=report.total_minutes,
            total_units=report.total_units,
            rows=[TechniqueRowOut.model_validate(r) for r in report.rows],
        )
