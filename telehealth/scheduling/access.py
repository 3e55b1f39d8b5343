"""Access-scoped scheduling queries: every read of an appointment takes the acting user.

A patient sees their own appointments, a therapist the appointments they treat, an admin all.
Another person's appointment is NotFound (404), never PermissionDenied, so existence does not leak.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.access import is_on_care_team
from telehealth.accounts.models import Role, User
from telehealth.actors import Actor
from telehealth.errors import InvalidInput, NotFound, PermissionDenied
from telehealth.scheduling.models import Appointment


def appointments_visible_to(actor: Actor) -> Select[Appointment]:
    """SELECT of the appointments the actor may see."""
    query = select(Appointment)
    if actor.is_admin:
        return query
    if actor.is_therapist:
        return query.where(Appointment.therapist_id == actor.id)
    return query.where(Appointment.patient_id == actor.id)


async def get_visible_appointment(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Appointment:
    """The appointment if the actor may see it; NotFound otherwise."""
    query = appointments_visible_to(actor).where(Appointment.id == appointment_id)
    if for_update:
        # PostgreSQL: two edits of one appointment queue up instead of both reading the old state.
        # NO KEY UPDATE (what an UPDATE of non-key columns takes anyway) does not conflict with
        # the share lock a ticket or note insert takes on its appointment. populate_existing: the
        # locked read must see the committed state, not an earlier read of this session.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound("No such appointment.")
    return found


async def get_active_therapist(session: AsyncSession, therapist_id: uuid.UUID) -> User:
    """An active therapist by id; anyone may name one (the booking page lists them)."""
    user = await session.get(User, therapist_id)
    if user is None or user.role != Role.THERAPIST.value or not user.is_active:
        raise NotFound("No such therapist.")
    return user


def require_may_edit_availability(actor: Actor, therapist_id: uuid.UUID) -> None:
    """Therapists edit their own availability, admins anyone's; patients never."""
    if actor.is_admin or (actor.is_therapist and actor.id == therapist_id):
        return
    if actor.is_therapist:
        raise NotFound("No such therapist.")
    raise PermissionDenied("Only therapists and clinic administrators can change availability.")


def require_staff(actor: Actor) -> None:
    """Therapists and admins only (a role check leaks no object)."""
    if not (actor.is_admin or actor.is_therapist):
        raise PermissionDenied("Only clinic staff can do this.")


async def resolve_booking_parties(
    session: AsyncSession,
    actor: Actor,
    patient_id: uuid.UUID | None,
    therapist_id: uuid.UUID | None,
) -> tuple[User, User]:
    """Who an actor may book for: a patient for self, a therapist for own patients, an admin anyone."""
    if actor.is_patient:
        if patient_id is not None and patient_id != actor.id:
            raise NotFound("No such patient.")
        patient_id = actor.id
    elif actor.is_therapist:
        if therapist_id is not None and therapist_id != actor.id:
            raise NotFound("No such therapist.")
        therapist_id = actor.id
    if patient_id is None:
        raise InvalidInput("Choose the patient.", details={"field": "patient_id"})
    if therapist_id is None:
        raise InvalidInput("Choose the therapist.", details={"field": "therapist_id"})
    therapist = await get_active_therapist(session, therapist_id)
    patient = await session.get(User, patient_id)
    if patient is None or patient.role != Role.PATIENT.value or not patient.is_active:
        raise NotFound("No such patient.")
    if actor.is_therapist and not await is_on_care_team(session, therapist.id, patient.id):
        raise NotFound("No such patient.")
    return patient, therapist
