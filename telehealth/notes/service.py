"""Visit note services: open, autosave, sign, addenda, reads, patient summaries, catalog additions.

Each function is one transaction (unit_of_work): authorize through notes.access, apply the pure
rules (rules, billing, canonical, summary), write, and audit. Audit details carry ids, versions and
counts only, never clinical text.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.access import require_admin
from telehealth.accounts.models import User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.catalog.loader import KINDS, Catalog, CatalogKind
from telehealth.catalog.models import CatalogExtrasVersion
from telehealth.catalog.store import CatalogStore
from telehealth.catalog.validation import FieldError
from telehealth.errors import Conflict, InvalidInput
from telehealth.notes.access import (
    appointment_for_writing,
    note_for_writing,
    own_signed_notes,
    readable_note,
    signed_note_for_summary,
)
from telehealth.notes.billing import BillingSummary, bill_note
from telehealth.notes.canonical import Addendum, Signature, add_addendum, sign, tampering
from telehealth.notes.models import DRAFT, LOCKED_MESSAGE, SIGNED, NoteAddendum, VisitNote
from telehealth.notes.report_rules import line_units
from telehealth.notes.rules import (
    NoteContent,
    NoteType,
    require_signable,
    signing_problems,
    validate_note_content,
)
from telehealth.notes.summary import HomeExercise, PatientSummary, build_patient_summary
from telehealth.scheduling.models import INACTIVE_STATUSES, Appointment, AppointmentTypeRow
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work

RESOURCE = "visit_note"
MAX_ADDENDUM_CHARS = 10_000
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class NoteView:
    """A note as its readers see it: content, billing, signature check and addenda."""

    appointment: Appointment
    note: VisitNote
    content: NoteContent
    addenda: tuple[NoteAddendum, ...]
    billing: BillingSummary
    # Billed units of each intervention line, in order (they add up to the billed units).
    line_units: tuple[int, ...]
    signing_problems: tuple[FieldError, ...]
    # Empty when every hash still matches (always empty for a draft: nothing is sealed yet).
    integrity_problems: tuple[str, ...]


@dataclass(frozen=True)
class SummaryView:
    """A patient's plain-language summary of one signed visit."""

    appointment: Appointment
    therapist_name: str
    signed_at: datetime
    summary: PatientSummary


@dataclass(frozen=True)
class CurrentExercise:
    """A home exercise in force: from the newest signed note of the therapist who prescribed it."""

    exercise: HomeExercise
    prescribed_at: datetime
    appointment_id: uuid.UUID
    therapist_name: str


# --- helpers -------------------------------------------------------------------------------------


def _record(uow: UnitOfWork, action: str, note: VisitNote, **details: Any) -> None:
    uow.audit(
        AuditRecord(
            action,
            RESOURCE,
            resource_id=str(note.appointment_id),
            patient_id=note.patient_id,
            details={"note_id": str(note.id), "version": note.version, **details},
        )
    )


def _snapshot(note: VisitNote) -> dict[str, Any]:
    # What a client needs to show the other tab's work next to its own.
    return {
        "current": {
            "version": note.version,
            "status": note.status,
            "content": note.content,
            "updated_at": note.updated_at.isoformat(),
        }
    }


def _require_draft(note: VisitNote) -> None:
    if note.status != DRAFT:
        raise Conflict(
            "This note is signed and can no longer be changed; write an addendum instead.",
            code="note_locked",
            details=_snapshot(note),
        )


def _require_version(note: VisitNote, version: int) -> None:
    if note.version != version:
        raise Conflict(
            "This note was changed in another window or device since you loaded it.",
            code="stale_version",
            details=_snapshot(note),
        )


async def _compare_and_set(
    session: AsyncSession, note: VisitNote, expected_version: int, values: Mapping[str, Any]
) -> None:
    """Write only if nobody saved in between; the version in WHERE makes the check race-free."""
    try:
        result = await session.execute(
            update(VisitNote)
            .where(
                VisitNote.id == note.id,
                VisitNote.version == expected_version,
                VisitNote.status == DRAFT,
            )
            .values(version=expected_version + 1, **values)
            .execution_options(synchronize_session=False)
        )
    except DBAPIError as exc:
        if LOCKED_MESSAGE in str(exc.orig):
            raise Conflict("This note is signed and locked.", code="note_locked") from None
        raise
    await session.refresh(note)
    if getattr(result, "rowcount", 1) != 1:
        _require_draft(note)
        _require_version(note, expected_version)


def signature_of(note: VisitNote) -> Signature | None:
    """The stored signature of a signed note."""
    if note.status != SIGNED or note.signed_by is None or note.signed_at is None:
        return None
    return Signature(
        signer_id=str(note.signed_by),
        signed_at=note.signed_at,
        content_hash=note.content_hash or "",
        seal=note.seal or "",
    )


def addendum_of(row: NoteAddendum) -> Addendum:
    """The hashed form of a stored addendum."""
    return Addendum(
        author_id=str(row.author_id),
        written_at=row.written_at,
        reason=row.reason,
        text=row.text,
        parent_hash=row.parent_hash,
        hash=row.hash,
    )


async def _addenda(session: AsyncSession, note: VisitNote) -> tuple[NoteAddendum, ...]:
    rows = await session.scalars(
        select(NoteAddendum)
        .where(NoteAddendum.note_id == note.id)
        .order_by(NoteAddendum.written_at, NoteAddendum.id)
    )
    return tuple(rows)


async def _view(
    session: AsyncSession, catalog: Catalog, appointment: Appointment, note: VisitNote
) -> NoteView:
    content = NoteContent.model_validate(note.content)
    addenda = await _addenda(session, note)
    signature = signature_of(note)
    problems: list[str] = []
    if signature is not None:
        problems = tampering(note.content, signature, [addendum_of(a) for a in addenda])
    return NoteView(
        appointment=appointment,
        note=note,
        content=content,
        addenda=addenda,
        billing=bill_note(content, catalog),
        line_units=tuple(line_units(content, catalog)),
        signing_problems=tuple(signing_problems(content, catalog)) if note.status == DRAFT else (),
        integrity_problems=tuple(problems),
    )


async def _default_note_type(session: AsyncSession, appointment: Appointment) -> NoteType:
    evaluation = await session.scalar(
        select(AppointmentTypeRow.billable_evaluation).where(
            AppointmentTypeRow.id == appointment.type_id
        )
    )
    return "initial_evaluation" if evaluation else "daily"


# --- the note workflow ---------------------------------------------------------------------------


async def open_note(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    note_type: NoteType | None = None,
) -> tuple[NoteView, bool]:
    """The visit's note for its therapist, created as an empty draft the first time (created=True)."""
    async with unit_of_work(services, caller) as uow:
        appointment = await uow.guarded(
            appointment_for_writing(uow.session, uow.actor, appointment_id),
            "note.open",
            RESOURCE,
            str(appointment_id),
        )
        catalog = await catalogs.current(uow.session)
        note = await uow.session.scalar(
            select(VisitNote).where(VisitNote.appointment_id == appointment.id)
        )
        created = False
        if note is None:
            if appointment.status in INACTIVE_STATUSES:
                raise Conflict(
                    "This visit was cancelled or missed; it takes no note.", code="visit_not_held"
                )
            chosen = note_type or await _default_note_type(uow.session, appointment)
            note = VisitNote(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                therapist_id=appointment.therapist_id,
                note_type=chosen,
                content=NoteContent(note_type=chosen).model_dump(mode="json"),
                status=DRAFT,
                version=1,
                created_at=uow.now,
                updated_at=uow.now,
            )
            try:
                async with uow.session.begin_nested():
                    uow.session.add(note)
            except IntegrityError:
                # Another window created it a moment ago: one note per visit, so use that one.
                note = await uow.session.scalar(
                    select(VisitNote).where(VisitNote.appointment_id == appointment.id)
                )
                if note is None:
                    raise
            else:
                created = True
        _record(uow, "note.create" if created else "note.read", note, status=note.status)
        return await _view(uow.session, catalog, appointment, note), created


async def get_note(
    services: Services, catalogs: CatalogStore, caller: Caller, appointment_id: uuid.UUID
) -> NoteView:
    """Read a visit's clinical note (its therapist; others only as the settings allow)."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            readable_note(uow.session, uow.actor, services.settings, appointment_id),
            "note.read",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.read", note, status=note.status)
        catalog = await catalogs.current(uow.session)
        return await _view(uow.session, catalog, appointment, note)


async def save_draft(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    version: int,
    content: Mapping[str, Any],
) -> NoteView:
    """Autosave: replace the draft's content if `version` is still current (else 409 + current)."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            note_for_writing(uow.session, uow.actor, appointment_id),
            "note.save",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.save", note, based_on=version)
        _require_draft(note)
        _require_version(note, version)
        catalog = await catalogs.current(uow.session)
        stored = validate_note_content(content, catalog).model_dump(mode="json")
        # An unchanged save (a second tab idling, a retry) writes nothing and bumps nothing.
        if stored != note.content:
            await _compare_and_set(
                uow.session,
                note,
                version,
                {"content": stored, "note_type": stored["note_type"], "updated_at": uow.now},
            )
        return await _view(uow.session, catalog, appointment, note)


async def sign_note(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    version: int,
) -> NoteView:
    """Sign the draft the therapist last saw: signer, UTC time, content hash and seal; then locked."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            note_for_writing(uow.session, uow.actor, appointment_id),
            "note.sign",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.sign", note, based_on=version)
        _require_draft(note)
        _require_version(note, version)
        catalog = await catalogs.current(uow.session)
        content = validate_note_content(note.content, catalog)
        require_signable(content, catalog)
        stored = content.model_dump(mode="json")
        signature = sign(stored, str(uow.actor.id), uow.now)
        await _compare_and_set(
            uow.session,
            note,
            version,
            {
                "content": stored,
                "status": SIGNED,
                "signed_by": uow.actor.id,
                "signed_at": signature.signed_at,
                "content_hash": signature.content_hash,
                "seal": signature.seal,
                "updated_at": uow.now,
            },
        )
        uow.records[-1] = replace(
            uow.records[-1], details={**uow.records[-1].details, "content_hash": note.content_hash}
        )
        return await _view(uow.session, catalog, appointment, note)


async def write_addendum(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    reason: str,
    text: str,
) -> NoteView:
    """Add a dated, hashed addendum to a signed note; the signed original stays as it was."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            note_for_writing(uow.session, uow.actor, appointment_id),
            "note.addendum",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.addendum", note)
        signature = signature_of(note)
        if signature is None:
            raise Conflict(
                "Only a signed note takes addenda; edit the draft instead.", code="note_not_signed"
            )
        if len(reason) > MAX_REASON_CHARS or len(text) > MAX_ADDENDUM_CHARS:
            raise InvalidInput(
                "The addendum is too long.",
                details=[{"field": "text", "message": f"at most {MAX_ADDENDUM_CHARS} characters"}],
            )
        addendum = add_addendum(signature, str(uow.actor.id), uow.now, reason, text)
        uow.session.add(
            NoteAddendum(
                note_id=note.id,
                author_id=uow.actor.id,
                written_at=addendum.written_at,
                reason=addendum.reason,
                text=addendum.text,
                parent_hash=addendum.parent_hash,
                hash=addendum.hash,
            )
        )
        await uow.session.flush()
        catalog = await catalogs.current(uow.session)
        return await _view(uow.session, catalog, appointment, note)


# --- what patients see ---------------------------------------------------------------------------


async def _names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


async def visit_summary(
    services: Services, catalogs: CatalogStore, caller: Caller, appointment_id: uuid.UUID
) -> SummaryView:
    """The plain-language summary of a signed visit note (never a draft, never the SOAP text)."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            signed_note_for_summary(uow.session, uow.actor, services.settings, appointment_id),
            "note.summary.read",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.summary.read", note)
        catalog = await catalogs.current(uow.session)
        names = await _names(uow.session, {note.therapist_id})
        assert note.signed_at is not None  # signed notes only
        return SummaryView(
            appointment=appointment,
            therapist_name=names.get(note.therapist_id, ""),
            signed_at=note.signed_at,
            summary=build_patient_summary(NoteContent.model_validate(note.content), catalog),
        )


async def visit_summaries(
    services: Services, catalogs: CatalogStore, caller: Caller
) -> list[SummaryView]:
    """A patient's summaries of all their signed visits, newest first."""
    async with unit_of_work(services, caller) as uow:
        actor = uow.actor
        rows = (
            await uow.session.execute(own_signed_notes(actor).order_by(Appointment.start_at.desc()))
        ).all()
        uow.audit(
            AuditRecord(
                "note.summary.list",
                RESOURCE,
                patient_id=actor.id if actor.is_patient else None,
                details={"count": len(rows)},
            )
        )
        catalog = await catalogs.current(uow.session)
        names = await _names(uow.session, {note.therapist_id for note, _ in rows})
        return [
            SummaryView(
                appointment=appointment,
                therapist_name=names.get(note.therapist_id, ""),
                signed_at=note.signed_at or note.updated_at,
                summary=build_patient_summary(NoteContent.model_validate(note.content), catalog),
            )
            for note, appointment in rows
        ]


async def current_exercises(
    services: Services, catalogs: CatalogStore, caller: Caller
) -> list[CurrentExercise]:
    """A patient's home exercises in force.

    Each therapist's newest signed note with a home program replaces that therapist's earlier
    programs; when two therapists prescribe the same exercise, the newer prescription wins.
    """
    async with unit_of_work(services, caller) as uow:
        actor = uow.actor
        rows = (
            await uow.session.execute(
                own_signed_notes(actor).order_by(Appointment.start_at.desc(), VisitNote.id)
            )
        ).all()
        catalog = await catalogs.current(uow.session)
        names = await _names(uow.session, {note.therapist_id for note, _ in rows})
        seen_therapists: set[uuid.UUID] = set()
        found: dict[str, CurrentExercise] = {}
        for note, appointment in rows:
            content = NoteContent.model_validate(note.content)
            if not content.home_program or note.therapist_id in seen_therapists:
                continue
            seen_therapists.add(note.therapist_id)
            summary = build_patient_summary(content, catalog)
            for exercise in summary.home_exercises:
                found.setdefault(
                    exercise.exercise_id,
                    CurrentExercise(
                        exercise=exercise,
                        prescribed_at=appointment.start_at,
                        appointment_id=appointment.id,
                        therapist_name=names.get(note.therapist_id, ""),
                    ),
                )
        uow.audit(
            AuditRecord(
                "note.exercises.read",
                RESOURCE,
                patient_id=actor.id if actor.is_patient else None,
                details={"count": len(found)},
            )
        )
        return list(found.values())


# --- the catalog ---------------------------------------------------------------------------------


async def current_catalog(services: Services, catalogs: CatalogStore, caller: Caller) -> Catalog:
    """The catalog in force (packaged entries and admin additions); holds no patient data."""
    async with unit_of_work(services, caller) as uow:
        uow.caller.require_actor()
        return await catalogs.current(uow.session)


async def catalog_extras(
    services: Services, catalogs: CatalogStore, caller: Caller
) -> tuple[int, dict[str, Any]]:
    """The admin additions in force and their version (admins)."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        version, extras = await catalogs.extras(uow.session)
        return version, extras.model_dump(mode="json")


async def add_catalog_entry(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    kind: CatalogKind,
    entry: Mapping[str, Any],
) -> int:
    """An admin adds a condition, technique or exercise; stored as a new extras version."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown catalog {kind!r}.", details=[{"field": "kind"}])
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        version, extras = await catalogs.extras(uow.session)
        document = extras.model_dump(mode="json")
        document[kind] = [*document[kind], dict(entry)]
        catalogs.merged(document)
        try:
            async with uow.session.begin_nested():
                uow.session.add(
                    CatalogExtrasVersion(
                        version=version + 1,
                        document=document,
                        created_by=uow.actor.id,
                        created_at=uow.now,
                    )
                )
        except IntegrityError:
            raise Conflict(
                "The catalog was changed at the same moment; please try again.",
                code="catalog_changed",
            ) from None
        uow.audit(
            AuditRecord(
                "catalog.extend",
                "catalog",
                resource_id=str(entry.get("id", ""))[:64],
                details={"kind": kind, "version": version + 1},
            )
        )
        return version + 1


# --- pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditorVisit:
    """What the note editor page shows around the note it loads by itself."""

    appointment: Appointment
    patient_name: str


async def visit_for_editor(
    services: Services, caller: Caller, appointment_id: uuid.UUID
) -> EditorVisit:
    """The visit whose note the actor may write (its therapist), for the editor page."""
    async with unit_of_work(services, caller) as uow:
        appointment = await uow.guarded(
            appointment_for_writing(uow.session, uow.actor, appointment_id),
            "note.editor.open",
            RESOURCE,
            str(appointment_id),
        )
        uow.audit(
            AuditRecord(
                "note.editor.open",
                RESOURCE,
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
            )
        )
        names = await _names(uow.session, {appointment.patient_id})
        return EditorVisit(
            appointment=appointment, patient_name=names.get(appointment.patient_id, "")
        )
