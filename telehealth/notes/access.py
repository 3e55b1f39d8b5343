"""Access-scoped queries of visit notes: every read or write of a note goes through the actor.

- The visit's therapist writes and reads its note.
- Another therapist reads a note only when NOTES_READABLE_BY_CARE_TEAM is on and they are on the
  patient's care team; an admin only when NOTES_READABLE_BY_ADMINS is on.
- A patient never reads the clinical note, draft or signed: they get the plain-language summary of
  their own signed notes.
Anything else is NotFound (404), so a note's existence never leaks.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.models import CareAssignment
from telehealth.actors import Actor
from telehealth.config import Settings
from telehealth.errors import NotFound
from telehealth.notes.models import SIGNED, VisitNote
from telehealth.notes.visit_rules import NOT_HELD_STATUSES
from telehealth.scheduling.models import Appointment

NO_NOTE = "No such visit note."
NO_VISIT = "No such visit."


def readable_clause(actor: Actor, settings: Settings) -> ColumnElement[bool]:
    """WHERE clause on VisitNote: the notes whose clinical content the actor may read."""
    if actor.is_admin:
        return true() if settings.notes_readable_by_admins else false()
    if not actor.is_therapist:
        return false()
    own = VisitNote.therapist_id == actor.id
    if not settings.notes_readable_by_care_team:
        return own
    on_team = exists().where(
        CareAssignment.patient_id == VisitNote.patient_id, CareAssignment.therapist_id == actor.id
    )
    return or_(own, on_team)


def may_read_clinical_notes(actor: Actor, settings: Settings) -> bool:
    """Whether the actor's role could read any clinical note at all under these settings."""
    if actor.is_admin:
        return settings.notes_readable_by_admins
    return actor.is_therapist


def readable_notes(actor: Actor, settings: Settings) -> Select[VisitNote]:
    """SELECT of the notes the actor may read."""
    return select(VisitNote).where(readable_clause(actor, settings))


async def appointment_for_writing(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Appointment:
    """The visit, when the actor is its therapist (the only one who writes its note).

    for_update locks the visit's row, so signing and a concurrent cancel or move take turns."""
    appointment = None
    if actor.is_therapist:
        query = select(Appointment).where(
            Appointment.id == appointment_id, Appointment.therapist_id == actor.id
        )
        appointment = await session.scalar(query.with_for_update() if for_update else query)
    if appointment is None:
        raise NotFound(NO_VISIT)
    return appointment


async def note_for_writing(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID, *, lock_visit: bool = False
) -> tuple[Appointment, VisitNote]:
    """The visit and its note, when the actor is the visit's therapist and the note exists."""
    appointment = await appointment_for_writing(
        session, actor, appointment_id, for_update=lock_visit
    )
    note = await session.scalar(
        select(VisitNote).where(VisitNote.appointment_id == appointment.id).with_for_update()
    )
    if note is None:
        raise NotFound(NO_NOTE)
    return appointment, note


async def note_for_withdrawal(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> tuple[Appointment, VisitNote]:
    """The visit (locked) and its note, for an "entered in error" mark: the visit's therapist or
    any admin. An admin needs no permission to read the note: the mark withdraws, it shows nothing."""
    whose: ColumnElement[bool]
    if actor.is_admin:
        whose = true()
    elif actor.is_therapist:
        whose = Appointment.therapist_id == actor.id
    else:
        whose = false()
    appointment = await session.scalar(
        select(Appointment).where(Appointment.id == appointment_id, whose).with_for_update()
    )
    note = None
    if appointment is not None:
        note = await session.scalar(
            select(VisitNote).where(VisitNote.appointment_id == appointment.id)
        )
    if appointment is None or note is None:
        raise NotFound(NO_NOTE)
    return appointment, note


async def readable_note(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    appointment_id: uuid.UUID,
    signed_only: bool = False,
) -> tuple[Appointment, VisitNote]:
    """The visit and its note, when the actor may read the clinical note (signed_only: a draft
    is not found either, as for the note's PDF, which is a record of signed notes only)."""
    query = (
        select(Appointment, VisitNote)
        .join(VisitNote, VisitNote.appointment_id == Appointment.id)
        .where(Appointment.id == appointment_id, readable_clause(actor, settings))
    )
    if signed_only:
        query = query.where(VisitNote.status == SIGNED)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(NO_NOTE)
    return row[0], row[1]


async def signed_note_for_summary(
    session: AsyncSession, actor: Actor, settings: Settings, appointment_id: uuid.UUID
) -> tuple[Appointment, VisitNote]:
    """A signed note whose plain-language summary the actor may see: the patient's own, or staff
    who may read the note. Drafts are never summarized."""
    whose: ColumnElement[bool] = (
        VisitNote.patient_id == actor.id if actor.is_patient else readable_clause(actor, settings)
    )
    row = (
        await session.execute(
            select(Appointment, VisitNote)
            .join(VisitNote, VisitNote.appointment_id == Appointment.id)
            .where(Appointment.id == appointment_id, VisitNote.status == SIGNED, whose)
        )
    ).first()
    if row is None:
        raise NotFound(NO_NOTE)
    return row[0], row[1]


def counted_clause() -> ColumnElement[bool]:
    """WHERE clause on a note's Appointment: signed care that counts (reports, billing totals,
    history, exports, exercises in force): the visit was held and its note was not withdrawn."""
    return and_(
        Appointment.status.not_in(NOT_HELD_STATUSES),
        Appointment.note_entered_in_error_at.is_(None),
    )


def own_signed_notes(actor: Actor) -> Select[VisitNote, Appointment]:
    """A patient's own signed notes with their visits (nothing for other roles)."""
    mine: ColumnElement[bool] = VisitNote.patient_id == actor.id if actor.is_patient else false()
    return (
        select(VisitNote, Appointment)
        .join(Appointment, Appointment.id == VisitNote.appointment_id)
        .where(VisitNote.status == SIGNED, mine)
    )


def record_clause(actor: Actor, settings: Settings) -> ColumnElement[bool]:
    """WHERE clause on VisitNote for a patient's record (history, FHIR export) of signed notes:
    a patient's own record (no SOAP text in it), or the notes staff may read."""
    if actor.is_patient:
        return VisitNote.patient_id == actor.id
    return readable_clause(actor, settings)


def signed_notes_of_patient(
    actor: Actor, settings: Settings, patient_id: uuid.UUID
) -> Select[VisitNote, Appointment]:
    """A patient's signed notes that belong in the actor's view of their record, oldest first."""
    return (
        select(VisitNote, Appointment)
        .join(Appointment, Appointment.id == VisitNote.appointment_id)
        .where(
            VisitNote.patient_id == patient_id,
            VisitNote.status == SIGNED,
            record_clause(actor, settings),
            counted_clause(),
        )
        .order_by(Appointment.start_at, VisitNote.id)
    )
