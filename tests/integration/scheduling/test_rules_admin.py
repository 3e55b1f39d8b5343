"""Types, availability, closures and series through the API, with who may change what."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.scheduling.appointment_types import SEEDED_TYPES
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.scheduling.seed import ensure_seeded
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.scheduling.support import book, count_appointments, iso, make_clinic, utc


async def test_types_are_seeded_once_and_edited_by_admins_only(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    assert await ensure_seeded(services) == 0  # the app seeded the empty table at start
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AppointmentTypeRow)) == len(
            SEEDED_TYPES
        )
    types = (await (await client.get("/api/v1/appointment-types", headers=c.patient_h)).json())[
        "items"
    ]
    follow_up = next(t for t in types if t["key"] == "follow_up")
    path = f"/api/v1/appointment-types/{follow_up['id']}"
    await assert_error_shape(
        await client.patch(path, json={"duration_minutes": 50}, headers=c.therapist_h), 403
    )
    # The type's own rules: horizon must exceed notice; durations are bounded.
    bad = await client.patch(
        path, json={"booking_horizon_minutes": 10, "min_notice_minutes": 60}, headers=c.admin_h
    )
    await assert_error_shape(bad, 422)
    await assert_error_shape(
        await client.patch(path, json={"duration_minutes": 600}, headers=c.admin_h), 422
    )
    ok = await client.patch(
        path, json={"duration_minutes": 50, "modalities": ["virtual"]}, headers=c.admin_h
    )
    assert ok.status == 200, await ok.text()
    assert (await ok.json())["duration_minutes"] == 50
    in_clinic = await book(
        client, c.patient_h, utc(2026, 3, 3, 15), modality="in_clinic", therapist_id=c.therapist.id
    )
    await assert_error_shape(in_clinic, 422)
    created = await client.post(
        "/api/v1/appointment-types",
        json={
            "key": "gait_check",
            "name": "Gait check",
            "duration_minutes": 30,
            "modalities": ["in_clinic"],
        },
        headers=c.admin_h,
    )
    assert created.status == 201, await created.text()
    # Edits survive a restart: seeding never overwrites.
    assert await ensure_seeded(services) == 0


async def test_availability_is_own_or_admin_and_honours_exceptions_and_closures(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    path = f"/api/v1/therapists/{c.therapist.id}/availability"
    block: dict[str, object] = {"weekday": 1, "start": "09:00", "end": "12:00"}
    week: dict[str, object] = {"time_zone": "America/New_York", "weekly": [block]}
    await assert_error_shape(await client.put(path, json=week, headers=c.patient_h), 403)
    overlapping = {
        **week,
        "weekly": [block, {"weekday": 1, "start": "11:00", "end": "13:00"}],
    }
    await assert_error_shape(await client.put(path, json=overlapping, headers=c.therapist_h), 422)
    backwards = {**week, "weekly": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}
    await assert_error_shape(await client.put(path, json=backwards, headers=c.admin_h), 422)
    assert (await client.put(path, json=week, headers=c.therapist_h)).status == 200

    def slots_on(day: date) -> dict[str, str]:
        return {
            "type": "follow_up",
            "modality": "virtual",
            "therapist_id": str(c.therapist.id),
            "start": iso(utc(day.year, day.month, day.day)),
            "end": iso(utc(day.year, day.month, day.day, 23)),
        }

    async def count(day: date) -> int:
        response = await client.get("/api/v1/slots", params=slots_on(day), headers=c.patient_h)
        assert response.status == 200, await response.text()
        return len((await response.json())["slots"])

    tuesday, next_tuesday = date(2026, 3, 3), date(2026, 3, 10)
    assert await count(tuesday) == 9  # 09:00 .. 11:00 every quarter hour
    off = await client.post(
        f"{path}/exceptions",
        json={"day": "2026-03-03", "kind": "time_off", "start": "09:00", "end": "10:00"},
        headers=c.admin_h,
    )
    assert off.status == 201, await off.text()
    assert await count(tuesday) == 5
    extra = await client.post(
        f"{path}/exceptions",
        json={"day": "2026-03-03", "kind": "extra_hours", "start": "14:00", "end": "15:00"},
        headers=c.therapist_h,
    )
    assert extra.status == 201
    assert await count(tuesday) == 6
    removed = await client.delete(
        f"{path}/exceptions/{(await off.json())['id']}", headers=c.therapist_h
    )
    assert removed.status == 204
    assert await count(tuesday) == 10
    # Clinic closures are the admin's, and override even extra hours.
    closure = {"day": "2026-03-10", "reason": "Staff training"}
    await assert_error_shape(
        await client.post("/api/v1/clinic-closures", json=closure, headers=c.therapist_h), 403
    )
    assert (
        await client.post("/api/v1/clinic-closures", json=closure, headers=c.admin_h)
    ).status == 201
    assert await count(next_tuesday) == 0
    closed_booking = await book(
        client,
        c.admin_h,
        utc(2026, 3, 10, 14),
        patient_id=c.patient.id,
        therapist_id=c.therapist.id,
    )
    await assert_error_shape(closed_booking, 409, "outside_availability")
    assert (
        await client.delete("/api/v1/clinic-closures/2026-03-10", headers=c.admin_h)
    ).status == 204
    assert await count(next_tuesday) == 9


async def test_series_all_or_nothing_and_book_available(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    # Someone else holds Thursday 2026-03-12 10:00 New York.
    taken = await book(
        client,
        c.admin_h,
        utc(2026, 3, 12, 14),
        patient_id=c.other_patient.id,
        therapist_id=c.therapist.id,
    )
    assert taken.status == 201, await taken.text()
    series = {
        "patient_id": str(c.patient.id),
        "type": "follow_up",
        "modality": "virtual",
        "weekdays": [1, 3],
        "time": "10:00",
        "first_day": "2026-03-03",
        "weeks": 6,
        "zone": "America/New_York",
    }
    refused = await client.post("/api/v1/appointment-series", json=series, headers=c.therapist_h)
    error = await assert_error_shape(refused, 409, "series_conflicts")
    (conflict,) = error["details"]["conflicts"]
    assert conflict["date"] == "2026-03-12"
    assert conflict["problems"] == ["busy"]
    assert conflict["alternatives"], conflict
    assert await count_appointments(services) == 1  # nothing booked
    await assert_error_shape(
        await client.post("/api/v1/appointment-series", json=series, headers=c.patient_h), 403
    )
    partial = await client.post(
        "/api/v1/appointment-series",
        json={**series, "mode": "book_available"},
        headers=c.therapist_h,
    )
    assert partial.status == 201, await partial.text()
    body = await partial.json()
    assert len(body["booked"]) == 11
    assert [x["date"] for x in body["conflicts"]] == ["2026-03-12"]
    assert all(b["series_id"] == body["series_id"] for b in body["booked"])
    assert await count_appointments(services) == 12
