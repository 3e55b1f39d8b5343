"""Assigning a therapist is idempotent under a burst: an admin's double click, or two admins at
once, each get 204, and the care team holds the pair once."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import CareAssignment, Role
from telehealth.unit_of_work import Services
from tests.conftest import People, login

BURST = 12


async def test_a_burst_of_the_same_assignment_adds_it_once(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    therapist = await people.make(Role.THERAPIST)
    headers = await login(client, admin)

    async def assign() -> int:
        response = await client.post(
            f"/api/v1/patients/{patient.id}/care-team",
            json={"therapist_id": str(therapist.id)},
            headers=headers,
        )
        return response.status

    statuses = await asyncio.gather(*(assign() for _ in range(BURST)))
    assert set(statuses) == {204}, statuses
    async with services.sessions.reading() as session:
        count = await session.scalar(
            select(func.count()).where(
                CareAssignment.patient_id == patient.id,
                CareAssignment.therapist_id == therapist.id,
            )
        )
    assert count == 1
    team = await client.get(f"/api/v1/patients/{patient.id}/care-team", headers=headers)
    assert [t["id"] for t in (await team.json())["items"]] == [str(therapist.id)]
