"""Page forms are read through the API's own models (`parse_form`): what the API refuses, the
page refuses too, without a server error and without a write."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.scheduling.models import AvailabilityException
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.support import count_appointments, set_hours
from tests.integration.scheduling.test_pages import page_sign_in


async def exceptions_of(services: Services, therapist_id: uuid.UUID) -> list[AvailabilityException]:
    async with services.sessions.reading() as session:
        rows = await session.scalars(
            select(AvailabilityException).where(AvailabilityException.therapist_id == therapist_id)
        )
        return list(rows)


async def test_an_altered_booking_form_books_nothing(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    await set_hours(services, therapist.user)
    await page_sign_in(client, patient)
    token = await csrf_from_page(client, "/book")
    base = {
        "csrf_token": token,
        "type": "follow_up",
        "modality": "virtual",
        "therapist_id": str(therapist.id),
        "start": "2026-03-03T14:00:00+00:00",
    }
    for altered in (
        {"start": "next tuesday"},
        {"start": "2026-03-03T14:00:00"},  # no offset: not an instant
        {"therapist_id": "not-a-uuid"},
        {"type": "x" * 49},
        {"type": ""},  # required
    ):
        response = await client.post("/book", data={**base, **altered}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/book", altered
    assert await count_appointments(services) == 0


async def test_an_exception_form_is_refused_with_the_page_and_its_message(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    await set_hours(services, therapist.user)
    await page_sign_in(client, therapist)
    token = await csrf_from_page(client, "/availability")
    for wrong in (
        {"day": "2026-03-40", "kind": "time_off"},
        {"day": "2026-03-10", "kind": "holiday"},
        {"day": "2026-03-10", "kind": "extra_hours", "start": "25:00", "end": "26:00"},
    ):
        response = await client.post(
            "/availability/exceptions", data={"csrf_token": token, **wrong}, allow_redirects=False
        )
        assert response.status == 422, wrong
        assert "Please give a date, and both times or none." in await response.text()
    assert await exceptions_of(services, therapist.id) == []
    added = await client.post(
        "/availability/exceptions",
        data={"csrf_token": token, "day": "2026-03-10", "kind": "time_off", "note": "Dentist"},
        allow_redirects=False,
    )
    assert added.status == 303
    [stored] = await exceptions_of(services, therapist.id)
    assert (stored.kind, stored.note, stored.start_local) == ("time_off", "Dentist", None)
