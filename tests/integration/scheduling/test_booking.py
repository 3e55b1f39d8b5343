"""Booking through the API: slots, booking, authorization, bad input and idempotent retries."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.scheduling.support import (
    book,
    count_appointments,
    iso,
    make_clinic,
    parse,
    quick_user,
    set_hours,
    sign_in,
    utc,
)

# Tuesday 2026-03-03, 10:00 in New York (EST, UTC-5).
TUESDAY_10 = utc(2026, 3, 3, 15)


async def test_search_book_and_read(client: TestClient, services: Services, people: People) -> None:
    c = await make_clinic(client, services, people)
    slots = await client.get(
        "/api/v1/slots",
        params={
            "type": "follow_up",
            "modality": "virtual",
            "therapist_id": str(c.therapist.id),
            "start": iso(utc(2026, 3, 3)),
            "end": iso(utc(2026, 3, 4)),
            "zone": "Europe/London",
        },
        headers=c.patient_h,
    )
    assert slots.status == 200, await slots.text()
    body = await slots.json()
    starts = [parse(s["start"]) for s in body["slots"]]
    assert TUESDAY_10 in starts
    first = body["slots"][0]
    # 09:00 New York is 14:00 London; local times are in the viewer's zone.
    assert parse(first["local_start"]).strftime("%H:%M %z") == "14:00 +0000", first
    assert first["local_date"] == "2026-03-03"
    assert body["zone"] == "Europe/London"

    response = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert response.status == 201, await response.text()
    appointment = await response.json()
    assert appointment["status"] == "booked"
    assert appointment["join_url"].endswith(f"/visits/{appointment['id']}")
    assert appointment["therapist"]["id"] == str(c.therapist.id)
    assert "cancel" in appointment["actions"]

    # The slot is gone, and so are the ones overlapping its buffer.
    again = await client.get(
        "/api/v1/slots",
        params={
            "type": "follow_up",
            "modality": "virtual",
            "therapist_id": str(c.therapist.id),
            "start": iso(utc(2026, 3, 3)),
            "end": iso(utc(2026, 3, 4)),
        },
        headers=c.other_h,
    )
    taken = {parse(s["start"]) for s in (await again.json())["slots"]}
    # follow_up: 45 min + 15 min documentation; a slot at 14:30Z would run into 15:00Z.
    for blocked in (utc(2026, 3, 3, 14, 30), TUESDAY_10, utc(2026, 3, 3, 15, 45)):
        assert blocked not in taken
    assert utc(2026, 3, 3, 16) in taken

    read = await client.get(f"/api/v1/appointments/{appointment['id']}", headers=c.therapist_h)
    assert read.status == 200
    listed = await client.get(
        "/api/v1/appointments",
        params={"start": iso(utc(2026, 3, 2)), "end": iso(utc(2026, 3, 9))},
        headers=c.patient_h,
    )
    assert [a["id"] for a in (await listed.json())["items"]] == [appointment["id"]]


async def test_taken_time_is_409_naming_who_is_busy(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    first = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert first.status == 201
    clash = await book(client, c.other_h, TUESDAY_10, therapist_id=c.therapist.id)
    error = await assert_error_shape(clash, 409)
    assert error["code"] in ("slot_taken", "therapist_busy")
    # Same patient, another therapist, same time: the patient is busy.
    colleague = await quick_user(services, Role.THERAPIST)
    await set_hours(services, colleague)
    double = await book(client, c.patient_h, TUESDAY_10, therapist_id=colleague.id)
    error = await assert_error_shape(double, 409, "patient_busy")
    assert "patient already has a visit" in error["message"]
    assert await count_appointments(services) == 1


async def test_patient_cannot_book_see_or_cancel_for_another(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    for_other = await book(
        client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id, patient_id=c.other_patient.id
    )
    await assert_error_shape(for_other, 404)
    mine = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    appointment_id = (await mine.json())["id"]
    for method, path, body in (
        ("GET", f"/api/v1/appointments/{appointment_id}", None),
        ("GET", f"/api/v1/appointments/{appointment_id}/calendar.ics", None),
        ("POST", f"/api/v1/appointments/{appointment_id}/cancel", {"reason": ""}),
        ("POST", f"/api/v1/appointments/{appointment_id}/reschedule", {"start": iso(TUESDAY_10)}),
    ):
        response = await client.request(method, path, json=body, headers=c.other_h)
        await assert_error_shape(response, 404)
    listed = await client.get(
        "/api/v1/appointments",
        params={"start": iso(utc(2026, 3, 2)), "end": iso(utc(2026, 3, 9))},
        headers=c.other_h,
    )
    assert (await listed.json())["items"] == []


async def test_therapist_only_books_and_sees_own(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    from telehealth.accounts.models import Role

    colleague = await people.make(Role.THERAPIST)
    colleague_h = await sign_in(client, colleague)
    # other_patient is not on the therapist's care team.
    not_mine = await book(client, c.therapist_h, TUESDAY_10, patient_id=c.other_patient.id)
    await assert_error_shape(not_mine, 404)
    for_colleague = await book(
        client, c.therapist_h, TUESDAY_10, patient_id=c.patient.id, therapist_id=colleague.id
    )
    await assert_error_shape(for_colleague, 404)
    mine = await book(client, c.therapist_h, TUESDAY_10, patient_id=c.patient.id)
    assert mine.status == 201, await mine.text()
    appointment_id = (await mine.json())["id"]
    seen = await client.get(f"/api/v1/appointments/{appointment_id}", headers=colleague_h)
    await assert_error_shape(seen, 404)
    admin_sees = await client.get(f"/api/v1/appointments/{appointment_id}", headers=c.admin_h)
    assert admin_sees.status == 200
    # The admin books for anyone, and that puts the therapist on the patient's care team.
    by_admin = await book(
        client,
        c.admin_h,
        utc(2026, 3, 4, 15),
        patient_id=c.other_patient.id,
        therapist_id=c.therapist.id,
    )
    assert by_admin.status == 201, await by_admin.text()
    team = await client.get(f"/api/v1/patients/{c.other_patient.id}", headers=c.therapist_h)
    assert team.status == 200


async def test_bad_input_is_4xx_in_the_error_shape(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    tid = str(c.therapist.id)
    slot_cases = [
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2026, 3, 5)),
                "end": iso(utc(2026, 3, 4)),
            },
            422,
        ),
        ({"type": "nope", "modality": "virtual"}, 422),
        ({"type": "free_screening", "modality": "in_clinic"}, 422),
        ({"type": "follow_up", "modality": "teleport"}, 422),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2020, 1, 1)),
                "end": iso(utc(2020, 1, 2)),
            },
            422,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2026, 3, 3)),
                "end": iso(utc(2027, 3, 3)),
            },
            422,
        ),
        ({"type": "follow_up", "modality": "virtual", "start": "9999-12-31T00:00:00Z"}, 422),
        ({"type": "follow_up", "modality": "virtual", "start": "2026-03-03T10:00:00"}, 422),
        ({"type": "follow_up", "modality": "virtual", "therapist_id": "not-a-uuid"}, 422),
        ({"type": "follow_up", "modality": "virtual", "therapist_id": str(uuid.uuid4())}, 404),
        ({"type": "follow_up", "modality": "virtual", "zone": "Mars/Olympus"}, 422),
        ({"type": "follow_up", "modality": "virtual", "limit": "0"}, 422),
    ]
    for params, status in slot_cases:
        response = await client.get("/api/v1/slots", params=params, headers=c.patient_h)
        await assert_error_shape(response, status)
    booking_cases = [
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2026, 3, 1, 15)),
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "unknown",
                "modality": "virtual",
                "start": iso(TUESDAY_10),
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "free_screening",
                "modality": "in_clinic",
                "start": iso(TUESDAY_10),
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": "2026-03-03T10:00:00",
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": "9999-12-31T23:59:00Z",
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(TUESDAY_10),
                "therapist_id": "x",
            },
            422,
        ),
        ({"type": "follow_up", "modality": "virtual", "start": iso(TUESDAY_10)}, 422),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2026, 3, 3, 3)),
                "therapist_id": tid,
            },
            409,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(utc(2026, 3, 2, 16)),
                "therapist_id": tid,
            },
            422,
        ),
        (
            {
                "type": "follow_up",
                "modality": "virtual",
                "start": iso(TUESDAY_10),
                "therapist_id": tid,
                "extra": 1,
            },
            422,
        ),
    ]
    for body, status in booking_cases:
        response = await client.post("/api/v1/appointments", json=body, headers=c.patient_h)
        await assert_error_shape(response, status)
    for path in ("/api/v1/appointments/not-a-uuid", f"/api/v1/appointments/{uuid.uuid4()}"):
        await assert_error_shape(await client.get(path, headers=c.patient_h), 404)
    listing = await client.get(
        "/api/v1/appointments",
        params={"start": iso(utc(2026, 3, 2)), "end": iso(utc(2027, 3, 2))},
        headers=c.admin_h,
    )
    await assert_error_shape(listing, 422)
    assert await count_appointments(services) == 0


async def test_idempotent_retry_replays_the_first_answer(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    headers = {**c.patient_h, "Idempotency-Key": "booking-123"}
    first = await book(client, headers, TUESDAY_10, therapist_id=c.therapist.id)
    assert first.status == 201
    retry = await book(client, headers, TUESDAY_10, therapist_id=c.therapist.id)
    assert retry.status == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert await retry.json() == await first.json()
    assert await count_appointments(services) == 1
    changed = await book(client, headers, utc(2026, 3, 4, 15), therapist_id=c.therapist.id)
    await assert_error_shape(changed, 422, "idempotency_key_reused")
    # Keys belong to their sender: another patient's identical key is a new request.
    other = await book(
        client,
        {**c.other_h, "Idempotency-Key": "booking-123"},
        utc(2026, 3, 4, 15),
        therapist_id=c.therapist.id,
    )
    assert other.status == 201
    assert await count_appointments(services) == 2


async def test_concurrent_duplicates_with_one_key_book_once(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    headers = {**c.patient_h, "Idempotency-Key": "double-click"}
    responses = await asyncio.gather(
        *(book(client, headers, TUESDAY_10, therapist_id=c.therapist.id) for _ in range(20))
    )
    statuses = [r.status for r in responses]
    assert statuses == [201] * 20, statuses
    bodies = [await r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert await count_appointments(services) == 1
