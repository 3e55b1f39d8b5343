"""The database itself refuses overlapping appointments, whatever the service does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telehealth.accounts.models import Role
from telehealth.scheduling.models import (
    OVERLAP_PATIENT,
    OVERLAP_THERAPIST,
    Appointment,
    AppointmentTypeRow,
)
from telehealth.unit_of_work import Services
from tests.integration.scheduling.support import quick_user, utc


def _row(
    type_id: uuid.UUID,
    therapist: uuid.UUID,
    patient: uuid.UUID,
    start: datetime,
    status: str = "booked",
) -> Appointment:
    now = utc(2026, 3, 1)
    return Appointment(
        patient_id=patient,
        therapist_id=therapist,
        type_id=type_id,
        modality="virtual",
        status=status,
        start_at=start,
        end_at=start + timedelta(minutes=45),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
        reason="",
        created_by=patient,
        created_at=now,
        updated_at=now,
        late_cancellation=False,
        version=1,
    )


async def _insert(services: Services, *rows: Appointment) -> None:
    async with services.sessions() as session:
        session.add_all(rows)
        await session.commit()


async def test_overlapping_rows_are_refused_by_the_database(
    client: TestClient, services: Services
) -> None:
    therapist = (await quick_user(services, Role.THERAPIST)).id
    other_therapist = (await quick_user(services, Role.THERAPIST)).id
    patient = (await quick_user(services, Role.PATIENT)).id
    other_patient = (await quick_user(services, Role.PATIENT)).id
    async with services.sessions() as session:
        type_id = (await session.scalars(select(AppointmentTypeRow.id))).first()
    assert type_id is not None
    start = utc(2026, 3, 3, 15)
    await _insert(services, _row(type_id, therapist, patient, start))
    # The therapist's buffer (blocked until 16:00) overlaps a 15:50 start.
    with pytest.raises(IntegrityError, match=OVERLAP_THERAPIST):
        await _insert(
            services, _row(type_id, therapist, other_patient, start + timedelta(minutes=50))
        )
    with pytest.raises(IntegrityError, match=OVERLAP_PATIENT):
        await _insert(
            services, _row(type_id, other_therapist, patient, start + timedelta(minutes=30))
        )
    # Touching is not overlapping; cancelled rows hold no time.
    await _insert(services, _row(type_id, therapist, other_patient, start + timedelta(minutes=60)))
    await _insert(services, _row(type_id, therapist, other_patient, start, status="cancelled"))
    # An UPDATE into a taken time is refused too.
    async with services.sessions() as session:
        cancelled = await session.scalar(
            select(Appointment).where(Appointment.status == "cancelled")
        )
        assert cancelled is not None
        cancelled.status = "booked"
        with pytest.raises(IntegrityError, match=OVERLAP_THERAPIST):
            await session.commit()
