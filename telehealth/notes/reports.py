"""Report services over signed notes: a patient's treatment history, clinic-wide techniques by
condition, and the patient's FHIR R4 export. Drafts never count, nor do notes entered in error or
of visits that were cancelled or missed (access.counted_clause)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select

from telehealth.accounts.access import get_visible_patient, require_admin
from telehealth.accounts.models import User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.catalog.loader import Catalog
from telehealth.catalog.store import CatalogStore
from telehealth.notes import fhir
from telehealth.notes.access import counted_clause, signed_notes_of_patient
from telehealth.notes.models import SIGNED, VisitNote
from telehealth.notes.report_rules import TechniqueRow, line_units, tally_techniques
from telehealth.notes.rules import NoteContent
from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work


@dataclass(frozen=True)
class HistoryTechnique:
    """A technique used in one visit."""

    technique_id: str
    name: str
    cpt: str
    minutes: int
    units: int


@dataclass(frozen=True)
class HistoryEntry:
    """One signed visit in a patient's treatment history."""

    appointment_id: uuid.UUID
    visit_start: datetime
    signed_at: datetime
    therapist_name: str
    note_type: str
    conditions: tuple[tuple[str, str], ...]  # (ICD-10-CM code, condition name)
    techniques: tuple[HistoryTechnique, ...]
    home_exercises: tuple[str, ...]


@dataclass(frozen=True)
class TreatmentHistory:
    """A patient and their signed visits, oldest first."""

    patient: User
    entries: tuple[HistoryEntry, ...]


@dataclass(frozen=True)
class TechniqueReport:
    """Techniques by condition over a range of visit dates (clinic time zone)."""

    start: date
    end: date
    time_zone: str
    notes: int
    rows: tuple[TechniqueRow, ...]

    @property
    def total_minutes(self) -> int:
        """All minutes in the report."""
        return sum(r.minutes for r in self.rows)

    @property
    def total_units(self) -> int:
        """All units in the report."""
        return sum(r.units for r in self.rows)


def _merge_lines(
    note: NoteContent, units: list[int], names: dict[str, tuple[str, str]]
) -> tuple[HistoryTechnique, ...]:
    merged: dict[str, HistoryTechnique] = {}
    for line, line_unit in zip(note.interventions, units, strict=True):
        before = merged.get(line.technique)
        name, cpt = names[line.technique]
        merged[line.technique] = HistoryTechnique(
            technique_id=line.technique,
            name=name,
            cpt=cpt,
            minutes=line.minutes + (before.minutes if before else 0),
            units=line_unit + (before.units if before else 0),
        )
    return tuple(merged.values())


async def _signed_record(
    uow: UnitOfWork,
    services: Services,
    catalogs: CatalogStore,
    patient_id: uuid.UUID,
) -> tuple[User, Catalog, Sequence[Row[VisitNote, Appointment]]]:
    """The patient (if the actor may see them), the catalog, and the patient's signed notes in
    the actor's scope with their appointments, oldest first."""
    patient = await get_visible_patient(uow.session, uow.actor, patient_id)
    catalog = await catalogs.current(uow.session)
    rows = (
        await uow.session.execute(signed_notes_of_patient(uow.actor, services.settings, patient.id))
    ).all()
    return patient, catalog, rows


async def treatment_history(
    services: Services, catalogs: CatalogStore, caller: Caller, patient_id: uuid.UUID
) -> TreatmentHistory:
    """Techniques prescribed to a patient, when, for which condition (signed notes in scope)."""
    async with unit_of_work(services, caller) as uow:
        patient, catalog, rows = await _signed_record(uow, services, catalogs, patient_id)
        therapist_ids = {note.therapist_id for note, _ in rows}
        names = {
            user_id: name
            for user_id, name in await uow.session.execute(
                select(User.id, User.display_name).where(User.id.in_(therapist_ids))
            )
        }
        entries = []
        for note, appointment in rows:
            content = NoteContent.model_validate(note.content)
            conditions = []
            for diagnosis in content.diagnoses:
                conditions.append((diagnosis.code, catalog.diagnosis_name(diagnosis.code)))
            technique_names = {
                line.technique: (
                    catalog.technique(line.technique).name,
                    catalog.technique(line.technique).cpt,
                )
                for line in content.interventions
            }
            entries.append(
                HistoryEntry(
                    appointment_id=appointment.id,
                    visit_start=appointment.start_at,
                    signed_at=note.signed_at or note.updated_at,
                    therapist_name=names.get(note.therapist_id, ""),
                    note_type=content.note_type,
                    conditions=tuple(conditions),
                    techniques=_merge_lines(content, line_units(content, catalog), technique_names),
                    home_exercises=tuple(
                        catalog.exercise(item.exercise).name for item in content.home_program
                    ),
                )
            )
        uow.audit(
            AuditRecord(
                "note.history.read",
                "patient",
                resource_id=str(patient.id),
                patient_id=patient.id,
                details={"notes": len(entries)},
            )
        )
        return TreatmentHistory(patient=patient, entries=tuple(entries))


def day_bounds(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """UTC instants of the first moment of start and the moment after end, in a time zone."""
    tz = ZoneInfo(zone)
    first = datetime.combine(start, time(0), tz).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(UTC)
    return first, after


async def technique_report(
    services: Services, catalogs: CatalogStore, caller: Caller, start: date, end: date
) -> TechniqueReport:
    """Clinic-wide techniques by condition for visits from start to end (admins)."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        zone = services.settings.clinic_time_zone
        first, after = day_bounds(start, end, zone)
        catalog = await catalogs.current(uow.session)
        contents = (
            await uow.session.scalars(
                select(VisitNote.content)
                .join(Appointment, Appointment.id == VisitNote.appointment_id)
                .where(
                    VisitNote.status == SIGNED,
                    counted_clause(),
                    Appointment.start_at >= first,
                    Appointment.start_at < after,
                )
            )
        ).all()
        notes = [NoteContent.model_validate(content) for content in contents]
        uow.audit(
            AuditRecord(
                "report.techniques.read",
                "report",
                details={"start": start.isoformat(), "end": end.isoformat(), "notes": len(notes)},
            )
        )
        return TechniqueReport(
            start=start,
            end=end,
            time_zone=zone,
            notes=len(notes),
            rows=tuple(tally_techniques(notes, catalog)),
        )


# --- FHIR ----------------------------------------------------------------------------------------

_APPOINTMENT_STATUS: dict[str, fhir.AppointmentStatus] = {
    "booked": "booked",
    "checked_in": "checked-in",
    "in_progress": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
_ENCOUNTER_STATUS: dict[str, fhir.EncounterStatus] = {
    "booked": "planned",
    "checked_in": "arrived",
    "in_progress": "in-progress",
    "completed": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",
}


async def patient_fhir_resources_in(
    uow: UnitOfWork, services: Services, catalogs: CatalogStore, patient_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The patient's record as FHIR R4 resources: Patient, Practitioners, and per signed note in
    scope its Appointment, Encounter, Conditions, Procedures and home-exercise CarePlan."""
    patient, catalog, rows = await _signed_record(uow, services, catalogs, patient_id)
    therapists = {
        user.id: user
        for user in await uow.session.scalars(
            select(User).where(User.id.in_({note.therapist_id for note, _ in rows}))
        )
    }
    family, given = fhir.split_name(patient.display_name)
    resources: list[dict[str, Any]] = [
        fhir.patient_resource(
            str(patient.id),
            family,
            given,
            birth_date=patient.date_of_birth,
            email=patient.email,
            phone=patient.phone,
        )
    ]
    for therapist in therapists.values():
        t_family, t_given = fhir.split_name(therapist.display_name)
        resources.append(fhir.practitioner_resource(str(therapist.id), t_family, t_given))
    patient_ref = f"Patient/{patient.id}"
    for note, appointment in rows:
        assert note.signed_at is not None  # the query selects signed notes only
        practitioner_ref = f"Practitioner/{note.therapist_id}"
        encounter_id = fhir.derived_id(str(note.id), "encounter")
        start = appointment.started_at or appointment.start_at
        end = appointment.completed_at or appointment.end_at
        resources.append(
            fhir.appointment_resource(
                str(appointment.id),
                _APPOINTMENT_STATUS.get(appointment.status, "booked"),
                appointment.start_at,
                appointment.end_at,
                patient_ref,
                practitioner_ref,
            )
        )
        resources.append(
            fhir.encounter_resource(
                encounter_id,
                _ENCOUNTER_STATUS.get(appointment.status, "finished"),
                patient_ref,
                practitioner_ref,
                start,
                end,
                appointment_ref=f"Appointment/{appointment.id}",
                modality=appointment.modality,
            )
        )
        context = fhir.NoteContext(
            note_id=str(note.id),
            patient_ref=patient_ref,
            practitioner_ref=practitioner_ref,
            encounter_ref=f"Encounter/{encounter_id}",
            performed_start=start,
            performed_end=end,
            recorded_at=note.signed_at,
        )
        resources.extend(
            fhir.note_resources(NoteContent.model_validate(note.content), catalog, context)
        )
    uow.audit(
        AuditRecord(
            "note.fhir.export",
            "patient",
            resource_id=str(patient.id),
            patient_id=patient.id,
            details={"notes": len(rows), "resources": len(resources)},
        )
    )
    return resources
