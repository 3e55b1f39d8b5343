"""Test data for visits: a virtual appointment between a patient and a therapist."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from telehealth.scheduling.seed import ensure_seeded
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login

# The default PUBLIC_URL of test settings: the only Origin the visit WebSocket accepts.
ORIGIN = "http://127.0.0.1:8080"


async def virtual_visit(
    services: Services,
    patient: Person,
    therapist: Person,
    start: datetime,
    minutes: int = 45,
    modality: str = "virtual",
) -> uuid.UUID:
    """Insert a booked appointment directly (test data; booking rules are tested elsewhere)."""
    await ensure_seeded(services)
    async with services.sessions() as session:
        follow_up = await session.scalar(
            select(AppointmentTypeRow).where(AppointmentTypeRow.key == "follow_up")
        )
        assert follow_up is not None
        end = start + timedelta(minutes=minutes)
        appointment = Appointment(
            patient_id=patient.id,
            therapist_id=therapist.id,
            type_id=follow_up.id,
            modality=modality,
            status="booked",
            start_at=start,
            end_at=end,
            blocked_start=start - timedelta(minutes=follow_up.buffer_before_minutes),
            blocked_end=end + timedelta(minutes=follow_up.buffer_after_minutes),
            created_by=therapist.id,
            created_at=services.clock.now(),
            updated_at=services.clock.now(),
        )
        session.add(appointment)
        await session.commit()
        return appointment.id


async def pair(people: People) -> tuple[Person, Person]:
    """A patient on a therapist's care team."""
    patient = await people.make(Role.PATIENT, "Pat Patient")
    therapist = await people.make(Role.THERAPIST, "Theo Therapist")
    await people.assign(patient, therapist)
    return patient, therapist


async def ticket_for(
    client: TestClient, person: Person, appointment_id: uuid.UUID, consent: bool = True
) -> str:
    """Sign in as person (bearer), accept consent if a patient, and fetch a join ticket."""
    headers = await login(client, person)
    if consent:
        me = await (await client.get("/api/v1/consent", headers=headers)).json()
        await client.post("/api/v1/consent", json={"version": me["version"]}, headers=headers)
    response = await client.post(f"/api/v1/visits/{appointment_id}/ticket", headers=headers)
    assert response.status == 201, await response.text()
    return str((await response.json())["ticket"])


async def status_of(services: Services, appointment_id: uuid.UUID) -> str:
    """An appointment's status, read straight from the database."""
    async with services.sessions() as session:
        row = await session.get(Appointment, appointment_id)
        assert row is not None
        return row.status
