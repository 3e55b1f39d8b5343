"""Visit note services: open, autosave, sign, addenda, reads, patient summaries, catalog additions.

Each function is one transaction (unit_of_work): authorize through notes.access, apply the pure
rules (rules, billing, canonical, summary), write, and audit. Audit details carry ids, versions and
counts only, never clinical text.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
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
from telehealth.catalog.diagnoses import DiagnosisHit, search_diagnoses
from telehealth.catalog.loader import KINDS, Catalog, CatalogKind
from telehealth.catalog.models import CatalogExtrasVersion
from telehealth.catalog.store import CatalogStore
from telehealth.catalog.validation import FieldError
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput
from telehealth.notes.access import (
    appointment_for_writing,
    counted_clause,
    note_for_withdrawal,
    note_for_writing,
    own_signed_notes,
    readable_note,
    readable_notes,
    signed_note_for_summary,
)
from telehealth.notes.billing import BillingSummary, bill_note
from telehealth.notes.canonical import (
    Addendum,
    Signature,
    add_addendum,
    keyed_chain,
    sign,
    tampering,
)
from telehealth.notes.models import (
    ADDENDUM,
    DRAFT,
    ENTERED_IN_ERROR,
    LOCKED_MESSAGE,
    SIGNED,
    NoteAddendum,
    VisitNote,
)
from telehealth.notes.record import AddendumFacts, NoteRecord, RecordFacts, build_record
from telehealth.notes.report_rules import line_units
from telehealth.notes.rules import (
    NoteContent,
    NoteType,
    require_signable,
    signing_problems,
    validate_note_content,
)
from telehealth.notes.summary import HomeExercise, PatientSummary, build_patient_summary
from telehealth.notes.template_rules import copy_forward, draft_from_template
from telehealth.notes.templates import current_template, note_type_for
from telehealth.notes.visit_rules import require_signable_visit
from telehealth.scheduling.access import require_staff
from telehealth.scheduling.models import INACTIVE_STATUSES, Appointment, AppointmentTypeRow
from telehealth.seals import SealKeys
from telehealth.unit_of_work import Services, SigningNote, UnitOfWork, unit_of_work

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
    # The signer's display name ("" for a draft).
    signer_name: str = ""
    # Copy forward: the visit start of the note this draft was prefilled from.
    copied_from_visit: datetime | None = None


@dataclass(frozen=True)
class SummaryView:
    """A patient's plain-language summary of one signed visit."""

    appointment: Appointment
    therapist_name: str
    signed_at: datetime
    summary: PatientSummary

    @property
    def withdrawn(self) -> bool:
        """Whether the note was entered in error (its summary is then empty)."""
        return self.appointment.note_entered_in_error_at is not None


WITHDRAWN_SUMMARY = PatientSummary(
    title="Withdrawn: this visit note was entered in error",
    findings=(),
    treatments=(),
    home_exercises=(),
    pain=None,
    next_steps=("Your therapist will tell you about any change to your exercises.",),
)


def _patient_summary(appointment: Appointment, note: VisitNote, catalog: Catalog) -> PatientSummary:
    # A withdrawn note's content was wrong (often: someone else's visit), so none of it is shown.
    if appointment.note_entered_in_error_at is not None:
        return WITHDRAWN_SUMMARY
    return build_patient_summary(NoteContent.model_validate(note.content), catalog)


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
            code=ErrorCode.NOTE_LOCKED,
            details=_snapshot(note),
        )


def _require_version(note: VisitNote, version: int) -> None:
    if note.version != version:
        raise Conflict(
            "This note was changed in another window or device since you loaded it.",
            code=ErrorCode.STALE_VERSION,
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
            raise Conflict("This note is signed and locked.", code=ErrorCode.NOTE_LOCKED) from None
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
        key_id=note.seal_key_id,
        record=sealed_record(note),
    )


def sealed_record(note: VisitNote) -> str:
    """What a note's seal binds its content to: the note, its visit and its patient."""
    return f"note:{note.id}:appointment:{note.appointment_id}:patient:{note.patient_id}"


def addendum_of(row: NoteAddendum) -> Addendum:
    """The hashed form of a stored addendum."""
    return Addendum(
        author_id=str(row.author_id),
        written_at=row.written_at,
        reason=row.reason,
        text=row.text,
        parent_hash=row.parent_hash,
        hash=row.hash,
        key_id=row.key_id,
        kind=row.kind,
    )


async def _addenda(session: AsyncSession, note: VisitNote) -> tuple[NoteAddendum, ...]:
    rows = await session.scalars(
        select(NoteAddendum)
        .where(NoteAddendum.note_id == note.id)
        .order_by(NoteAddendum.written_at, NoteAddendum.id)
    )
    return tuple(rows)


async def verify_all(services: Services, batch: int = 500) -> tuple[int, str | None]:
    """Check every signed note and its addenda (command line): how many, and the first bad one."""
    checked = 0
    keys = services.settings.seal_keys
    async with services.sessions() as session:
        after: uuid.UUID | None = None
        while True:
            query = select(VisitNote).where(VisitNote.status == SIGNED).order_by(VisitNote.id)
            if after is not None:
                query = query.where(VisitNote.id > after)
            notes = (await session.scalars(query.limit(batch))).all()
            if not notes:
                return checked, None
            for note in notes:
                problems = integrity_problems(note, await _addenda(session, note), keys)
                if problems:
                    return checked, f"note {note.id} (visit {note.appointment_id}): {problems[0]}"
                checked += 1
            after = notes[-1].id
            session.expunge_all()


def seal_holds(note: VisitNote, keys: SealKeys) -> bool:
    """Whether a signed note's content and keyed seal still hold (what patients may be shown)."""
    signature = signature_of(note)
    return signature is not None and not tampering(note.content, signature, (), keys)


def integrity_problems(
    note: VisitNote, addenda: Sequence[NoteAddendum], keys: SealKeys
) -> list[str]:
    """What no longer holds in a signed note and its addenda (empty for an intact one or a draft)."""
    signature = signature_of(note)
    if signature is None:
        return []
    return tampering(note.content, signature, [addendum_of(a) for a in addenda], keys)


async def _view(
    session: AsyncSession,
    catalog: Catalog,
    appointment: Appointment,
    note: VisitNote,
    keys: SealKeys,
) -> NoteView:
    content = NoteContent.model_validate(note.content)
    addenda = await _addenda(session, note)
    problems = integrity_problems(note, addenda, keys)
    signer_name = ""
    if note.signed_by is not None:
        signer_name = (await _names(session, {note.signed_by})).get(note.signed_by, "")
    return NoteView(
        appointment=appointment,
        note=note,
        content=content,
        addenda=addenda,
        billing=bill_note(content, catalog, appointment.modality),
        line_units=tuple(line_units(content, catalog)),
        signing_problems=tuple(signing_problems(content, catalog)) if note.status == DRAFT else (),
        integrity_problems=tuple(problems),
        signer_name=signer_name,
        copied_from_visit=await _visit_start_of(session, note.copied_from),
    )


async def _visit_start_of(session: AsyncSession, note_id: uuid.UUID | None) -> datetime | None:
    if note_id is None:
        return None
    start: datetime | None = await session.scalar(
        select(Appointment.start_at)
        .join(VisitNote, VisitNote.appointment_id == Appointment.id)
        .where(VisitNote.id == note_id)
    )
    return start


async def _mark_visit(session: AsyncSession, appointment: Appointment, **values: Any) -> None:
    """Tell the visit about its note (see Appointment.note_id); the row keeps its version."""
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(appointment)


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
                    "This visit was cancelled or missed; it takes no note.",
                    code=ErrorCode.VISIT_NOT_HELD,
                )
            type_row = await uow.session.get(AppointmentTypeRow, appointment.type_id)
            assert type_row is not None  # a foreign key
            default = note_type_for(type_row)
            chosen = note_type or default
            # The type's template was checked against the type's own note type; another type
            # (a re-evaluation on a follow-up slot) starts empty.
            template = await current_template(uow.session, type_row.key)
            note = VisitNote(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                therapist_id=appointment.therapist_id,
                note_type=chosen,
                content=draft_from_template(
                    chosen, template.document if template and chosen == default else None
                ),
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
                await _mark_visit(uow.session, appointment, note_id=note.id)
        _record(uow, "note.create" if created else "note.read", note, status=note.status)
        return await _view(
            uow.session, catalog, appointment, note, services.settings.seal_keys
        ), created


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
        return await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)


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
        return await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)


async def copy_forward_note(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    version: int,
) -> NoteView:
    """Prefill an untouched draft from the same patient's latest signed note the therapist may
    read: diagnoses, interventions and home program (never the subjective text or signature)."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            note_for_writing(uow.session, uow.actor, appointment_id),
            "note.copy_forward",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.copy_forward", note, based_on=version)
        _require_draft(note)
        _require_version(note, version)
        # Version 1 is the draft as it was created (empty, or the type's template): nothing the
        # therapist wrote can be overwritten.
        if note.version != 1 or note.copied_from is not None:
            raise Conflict(
                "This draft already has content; copy forward only fills a new, untouched draft.",
                code=ErrorCode.DRAFT_NOT_EMPTY,
            )
        previous = (
            await uow.session.execute(
                readable_notes(uow.actor, services.settings)
                .add_columns(Appointment.start_at)
                .join(Appointment, Appointment.id == VisitNote.appointment_id)
                .where(
                    VisitNote.patient_id == appointment.patient_id,
                    VisitNote.status == SIGNED,
                    VisitNote.id != note.id,
                    Appointment.start_at <= appointment.start_at,
                    counted_clause(),
                )
                .order_by(Appointment.start_at.desc(), VisitNote.signed_at.desc())
                .limit(1)
            )
        ).first()
        if previous is None:
            raise Conflict(
                "This patient has no earlier signed note you may read to copy from.",
                code=ErrorCode.NOTHING_TO_COPY,
            )
        source, source_start = previous
        catalog = await catalogs.current(uow.session)
        stored = validate_note_content(
            copy_forward(note.content, source.content, catalog), catalog
        ).model_dump(mode="json")
        await _compare_and_set(
            uow.session,
            note,
            version,
            {"content": stored, "copied_from": source.id, "updated_at": uow.now},
        )
        uow.records[-1] = replace(
            uow.records[-1],
            details={
                **uow.records[-1].details,
                "copied_from": str(source.id),
                "copied_from_visit": source_start.isoformat(),
            },
        )
        return await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)


async def sign_note(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    appointment_id: uuid.UUID,
    version: int,
) -> NoteView:
    """Sign the draft the therapist last saw: signer, UTC time, content hash and seal; then locked."""
    async with unit_of_work(services, caller) as uow:
        # The visit's row is locked: a cancel or a move waits for the signature, then sees it.
        appointment, note = await uow.guarded(
            note_for_writing(uow.session, uow.actor, appointment_id, lock_visit=True),
            "note.sign",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.sign", note, based_on=version)
        _require_draft(note)
        _require_version(note, version)
        require_signable_visit(
            appointment.modality, appointment.status, appointment.start_at, uow.now
        )
        catalog = await catalogs.current(uow.session)
        content = validate_note_content(note.content, catalog)
        require_signable(content, catalog)
        if (
            content.note_type == "daily"
            and bill_note(content, catalog, appointment.modality).total_units > 0
        ):
            await services.note_rules(uow, SigningNote(note.patient_id, appointment.id))
        stored = content.model_dump(mode="json")
        signature = sign(
            stored, str(uow.actor.id), uow.now, services.settings.seal_keys, sealed_record(note)
        )
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
                "seal_key_id": signature.key_id,
                "updated_at": uow.now,
            },
        )
        await _mark_visit(uow.session, appointment, note_id=note.id, note_signed_at=uow.now)
        uow.records[-1] = replace(
            uow.records[-1], details={**uow.records[-1].details, "content_hash": note.content_hash}
        )
        return await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)


async def _append_addendum(
    uow: UnitOfWork,
    services: Services,
    note: VisitNote,
    signature: Signature,
    earlier: Sequence[NoteAddendum],
    reason: str,
    text: str,
    kind: str,
) -> NoteAddendum:
    """Seal an addendum after the tail of the note's chain and store it (the note row is locked)."""
    chain = keyed_chain(signature, [addendum_of(a) for a in earlier])
    addendum = add_addendum(
        signature,
        chain[-1] if chain else None,
        str(uow.actor.id),
        uow.now,
        reason,
        text,
        services.settings.seal_keys,
        kind,
    )
    row = NoteAddendum(
        note_id=note.id,
        author_id=uow.actor.id,
        written_at=addendum.written_at,
        reason=addendum.reason,
        text=addendum.text,
        parent_hash=addendum.parent_hash,
        hash=addendum.hash,
        key_id=addendum.key_id,
        kind=kind,
    )
    uow.session.add(row)
    await uow.session.flush()
    return row


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
                "Only a signed note takes addenda; edit the draft instead.",
                code=ErrorCode.NOTE_NOT_SIGNED,
            )
        if len(reason) > MAX_REASON_CHARS or len(text) > MAX_ADDENDUM_CHARS:
            raise InvalidInput(
                "The addendum is too long.",
                details=[{"field": "text", "message": f"at most {MAX_ADDENDUM_CHARS} characters"}],
            )
        await _append_addendum(
            uow,
            services,
            note,
            signature,
            await _addenda(uow.session, note),
            reason,
            text,
            ADDENDUM,
        )
        catalog = await catalogs.current(uow.session)
        return await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)


async def signed_note_record(
    services: Services, catalogs: CatalogStore, caller: Caller, appointment_id: uuid.UUID
) -> NoteRecord:
    """A signed note in words for its PDF: the readers of get_note, signed notes only (else 404)."""
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            readable_note(
                uow.session, uow.actor, services.settings, appointment_id, signed_only=True
            ),
            "note.pdf",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.pdf", note, status=note.status)
        catalog = await catalogs.current(uow.session)
        view = await _view(uow.session, catalog, appointment, note, services.settings.seal_keys)
        addenda = view.addenda
        names = await _names(
            uow.session,
            {note.patient_id, note.therapist_id, *(a.author_id for a in addenda)},
        )
        birth = await uow.session.scalar(
            select(User.date_of_birth).where(User.id == note.patient_id)
        )
        assert note.signed_at is not None  # signed notes only
        facts = RecordFacts(
            clinic_name=services.settings.clinic_name,
            patient_name=names.get(note.patient_id, ""),
            date_of_birth=birth,
            therapist_name=names.get(note.therapist_id, ""),
            visit_start=appointment.start_at,
            modality=appointment.modality,
            signer_name=view.signer_name,
            signed_at=note.signed_at,
            verified=not view.integrity_problems,
            content_hash=note.content_hash or "",
            zone=uow.actor.time_zone,
            addenda=tuple(
                AddendumFacts(names.get(a.author_id, ""), a.written_at, a.reason, a.text)
                for a in addenda
            ),
        )
        return build_record(
            note.note_type, view.content, view.billing, view.line_units, catalog, facts
        )


@dataclass(frozen=True)
class Withdrawal:
    """The "entered in error" mark of a signed note: the addendum that withdrew it."""

    appointment: Appointment
    note: VisitNote
    addendum: NoteAddendum


ENTERED_IN_ERROR_TEXT = "Entered in error: this note is withdrawn and does not count as care given."


def withdrawal_of(addenda: tuple[NoteAddendum, ...]) -> NoteAddendum | None:
    """The addendum that marked a note as entered in error, if any."""
    return next((a for a in addenda if a.kind == ENTERED_IN_ERROR), None)


async def enter_in_error(
    services: Services, caller: Caller, appointment_id: uuid.UUID, reason: str
) -> Withdrawal:
    """Mark a signed note as entered in error (its signer or an admin), with a reason.

    Append-only: the mark is an addendum of its own kind, hashed and chained like any other, and
    the visit records when it happened; the note itself and its signature stay exactly as they were.
    """
    async with unit_of_work(services, caller) as uow:
        appointment, note = await uow.guarded(
            note_for_withdrawal(uow.session, uow.actor, appointment_id),
            "note.entered_in_error",
            RESOURCE,
            str(appointment_id),
        )
        _record(uow, "note.entered_in_error", note)
        signature = signature_of(note)
        if signature is None:
            raise Conflict(
                "Only a signed note can be marked as entered in error; a draft is simply not "
                "signed.",
                code=ErrorCode.NOTE_NOT_SIGNED,
            )
        earlier = await _addenda(uow.session, note)
        if withdrawal_of(earlier) is not None:
            raise Conflict(
                "This note is already marked as entered in error.",
                code=ErrorCode.ALREADY_ENTERED_IN_ERROR,
            )
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(
                "Say why the note was entered in error.",
                details=[{"field": "reason", "message": f"1 to {MAX_REASON_CHARS} characters"}],
            )
        row = await _append_addendum(
            uow, services, note, signature, earlier, reason, ENTERED_IN_ERROR_TEXT, ENTERED_IN_ERROR
        )
        await _mark_visit(uow.session, appointment, note_entered_in_error_at=uow.now)
        return Withdrawal(appointment=appointment, note=note, addendum=row)


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
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await visit_summary_in(uow, services, catalogs, appointment_id)


async def visit_summary_in(
    uow: UnitOfWork, services: Services, catalogs: CatalogStore, appointment_id: uuid.UUID
) -> SummaryView:
    """`visit_summary` inside the caller's unit of work."""
    appointment, note = await uow.guarded(
        signed_note_for_summary(uow.session, uow.actor, services.settings, appointment_id),
        "note.summary.read",
        RESOURCE,
        str(appointment_id),
    )
    _record(uow, "note.summary.read", note)
    if not seal_holds(note, services.settings.seal_keys):
        uow.records[-1] = replace(uow.records[-1], outcome="failure")
        raise Conflict(
            "This visit record could not be verified, so it is not shown. "
            "Please ask the clinic for a copy.",
            code=ErrorCode.NOTE_UNVERIFIED,
        )
    catalog = await catalogs.current(uow.session)
    names = await _names(uow.session, {note.therapist_id})
    assert note.signed_at is not None  # signed notes only
    return SummaryView(
        appointment=appointment,
        therapist_name=names.get(note.therapist_id, ""),
        signed_at=note.signed_at,
        summary=_patient_summary(appointment, note, catalog),
    )


async def visit_summaries(
    services: Services, catalogs: CatalogStore, caller: Caller
) -> list[SummaryView]:
    """A patient's summaries of all their signed visits, newest first; a note entered in error
    stays in the list, shown as withdrawn."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await visit_summaries_in(uow, services, catalogs)


async def visit_summaries_in(
    uow: UnitOfWork, services: Services, catalogs: CatalogStore
) -> list[SummaryView]:
    """`visit_summaries` inside the caller's unit of work."""
    actor = uow.actor
    found = (
        await uow.session.execute(own_signed_notes(actor).order_by(Appointment.start_at.desc()))
    ).all()
    rows = [(n, a) for n, a in found if seal_holds(n, services.settings.seal_keys)]
    uow.audit(
        AuditRecord(
            "note.summary.list",
            RESOURCE,
            patient_id=actor.id if actor.is_patient else None,
            details={"count": len(rows), "withheld_unverified": len(found) - len(rows)},
        )
    )
    catalog = await catalogs.current(uow.session)
    names = await _names(uow.session, {note.therapist_id for note, _ in rows})
    return [
        SummaryView(
            appointment=appointment,
            therapist_name=names.get(note.therapist_id, ""),
            signed_at=note.signed_at or note.updated_at,
            summary=_patient_summary(appointment, note, catalog),
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
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await current_exercises_in(uow, services, catalogs)


async def current_exercises_in(
    uow: UnitOfWork, services: Services, catalogs: CatalogStore
) -> list[CurrentExercise]:
    """`current_exercises` inside the caller's unit of work."""
    actor = uow.actor
    rows = [
        (note, appointment)
        for note, appointment in await uow.session.execute(
            own_signed_notes(actor)
            .where(counted_clause())
            .order_by(Appointment.start_at.desc(), VisitNote.id)
        )
        # A home program is only followed from a record whose seal still holds.
        if seal_holds(note, services.settings.seal_keys)
    ]
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


async def search_diagnoses_for(
    services: Services, catalogs: CatalogStore, caller: Caller, query: str, limit: int
) -> tuple[str, list[DiagnosisHit]]:
    """Therapists and admins search the code set; the clinic's catalog codes come first."""
    async with unit_of_work(services, caller) as uow:
        require_staff(uow.actor)
        catalog = await catalogs.current(uow.session)
        return catalog.codes.edition, search_diagnoses(catalog, query, limit)


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
        await catalogs.merged(document)
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
                code=ErrorCode.CATALOG_CHANGED,
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
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await visit_for_editor_in(uow, appointment_id)


async def visit_for_editor_in(uow: UnitOfWork, appointment_id: uuid.UUID) -> EditorVisit:
    """`visit_for_editor` inside the caller's unit of work."""
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
    return EditorVisit(appointment=appointment, patient_name=names.get(appointment.patient_id, ""))
