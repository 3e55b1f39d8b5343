"""The admin's person page puts a therapist on a care team through the API's own model."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import CareAssignment, Role
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import csrf_from_page, sign_in


async def team(services: Services, patient_id: object) -> list[object]:
    async with services.sessions.reading() as session:
        rows = await session.scalars(
            select(CareAssignment.therapist_id).where(CareAssignment.patient_id == patient_id)
        )
        return list(rows)


async def test_assigning_from_the_page_refuses_what_the_api_refuses(
    client: TestClient, people: People, services: Services
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    therapist = await people.make(Role.THERAPIST, "Dana Reyes")
    await sign_in(client, admin)
    page = f"/admin/people/{patient.id}"
    token = await csrf_from_page(client, page)
    for wrong in ("", "dana", "00000000-0000-0000-0000-00000000000g"):
        refused = await client.post(
            page + "/care-team",
            data={"csrf_token": token, "therapist_id": wrong},
            allow_redirects=False,
        )
        assert refused.status == 422, wrong
        assert "Please check: therapist id." in await refused.text()
    assert await team(services, patient.id) == []
    done = await client.post(
        page + "/care-team",
        data={"csrf_token": token, "therapist_id": str(therapist.id)},
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == page
    assert await team(services, patient.id) == [therapist.id]
