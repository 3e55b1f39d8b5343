"""Access-scoped queries: every read of a person's data goes through a function that takes the actor.

A handler cannot forget authorization because there is no unscoped way to fetch a patient here.
Another user's object answers NotFound, never PermissionDenied, so existence does not leak.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.models import CareAssignment, Role, User
from telehealth.actors import Actor
from telehealth.errors import NotFound, PermissionDenied


def patients_visible_to(actor: Actor) -> Select[User]:
    """SELECT of the patients the actor may see: self, own patients, or all for admins."""
    query = select(User).where(User.role == Role.PATIENT.value)
    if actor.is_admin:
        return query
    if actor.is_therapist:
        return query.where(
            exists().where(
                CareAssignment.patient_id == User.id, CareAssignment.therapist_id == actor.id
            )
        )
    return query.where(User.id == actor.id)


async def get_visible_patient(session: AsyncSession, actor: Actor, patient_id: uuid.UUID) -> User:
    """The patient if the actor may see them; NotFound otherwise."""
    if actor.is_patient:
        # Only herself, whose row a page has usually loaded already: then no query at all.
        own = await session.get(User, patient_id) if patient_id == actor.id else None
        if own is None or own.role != Role.PATIENT.value:
            raise NotFound("No such patient.")
        return own
    patient = await session.scalar(patients_visible_to(actor).where(User.id == patient_id))
    if patient is None:
        raise NotFound("No such patient.")
    return patient


async def is_on_care_team(
    session: AsyncSession, therapist_id: uuid.UUID, patient_id: uuid.UUID
) -> bool:
    """Whether a therapist is assigned to a patient."""
    found = await session.scalar(
        select(CareAssignment.patient_id).where(
            CareAssignment.patient_id == patient_id, CareAssignment.therapist_id == therapist_id
        )
    )
    return found is not None


def require_admin(actor: Actor) -> None:
    """Account management is for admins; other roles get 403 (a role check leaks no object)."""
    if not actor.is_admin:
        raise PermissionDenied("Only clinic administrators can do this.")


async def get_user_for_admin(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    """Any account, for an admin; other roles get 403 before any lookup, whatever the id."""
    require_admin(actor)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return user
