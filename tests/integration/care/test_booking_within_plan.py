"""A follow-up type marked "within plan" is booked by patients only inside their active plan of
care and its weekly frequency, and not after the plan's certification lapsed; staff book as
before. Both engines, through the API a phone app would use."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.care.test_plan_of_care_pages import open_episode, plan_form, post_plan
from tests.integration.helpers import assert_error_shape
from tests.integration.scheduling.support import book, make_clinic, sign_in, utc

# Week of Monday 9 March 2026; the clinic's clock starts on Monday 2 March (T0).
TUESDAY, WEDNESDAY, THURSDAY = utc(2026, 3, 10, 14), utc(2026, 3, 11, 14), utc(2026, 3, 12, 14)


async def mark_within_plan(client: TestClient, admin_h: dict[str, str]) -> None:
    types = await (await client.get("/api/v1/appointment-types", headers=admin_h)).json()
    follow_up = next(t for t in types["items"] if t["key"] == "follow_up")
    changed = await client.patch(
        f"/api/v1/appointment-types/{follow_up['id']}", json={"within_plan": True}, headers=admin_h
    )
    assert changed.status == 200 and (await changed.json())["within_plan"] is True


async def test_patients_book_follow_ups_only_within_their_plan(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    await mark_within_plan(client, c.admin_h)

    refused = await book(client, c.patient_h, TUESDAY, therapist_id=c.therapist.id)
    await assert_error_shape(refused, 409, "outside_plan")
    body = await refused.json()
    assert body["error"]["details"] == {"reason": "no_plan"}
    assert "no plan covering that date" in body["error"]["message"]

    # The therapist writes a plan: twice a week for 6 weeks from 2 March (to 12 April).
    episode = await open_episode(client, c.therapist, c.patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    patient_h = await sign_in(client, c.patient)
    assert (await book(client, patient_h, TUESDAY, therapist_id=c.therapist.id)).status == 201
    assert (await book(client, patient_h, WEDNESDAY, therapist_id=c.therapist.id)).status == 201
    third = await book(client, patient_h, THURSDAY, therapist_id=c.therapist.id)
    await assert_error_shape(third, 409, "outside_plan")
    assert (await third.json())["error"]["details"] == {"reason": "frequency"}
    assert "2 visits a week" in (await third.json())["error"]["message"]
    # The next week is free again; after the certified period, the plan has lapsed.
    assert (
        await book(client, patient_h, utc(2026, 3, 17, 14), therapist_id=c.therapist.id)
    ).status == 201
    lapsed = await book(client, patient_h, utc(2026, 4, 14, 14), therapist_id=c.therapist.id)
    assert (await lapsed.json())["error"]["details"] == {"reason": "lapsed"}

    # Moving a visit within its own week is fine; into a full week it is refused.
    booked = await (
        await client.get(
            "/api/v1/appointments",
            headers=patient_h,
            params={"start": "2026-03-16T00:00:00Z", "end": "2026-03-23T00:00:00Z"},
        )
    ).json()
    visit = booked["items"][0]
    moved = await client.post(
        f"/api/v1/appointments/{visit['id']}/reschedule",
        json={"start": "2026-03-18T14:00:00Z", "version": visit["version"]},
        headers=patient_h,
    )
    assert moved.status == 200, await moved.text()
    crowded = await client.post(
        f"/api/v1/appointments/{visit['id']}/reschedule",
        json={"start": "2026-03-12T14:00:00Z", "version": visit["version"] + 1},
        headers=patient_h,
    )
    await assert_error_shape(crowded, 409, "outside_plan")

    # Staff still book for the patient outside the plan's rules.
    therapist_h = await sign_in(client, c.therapist)
    staff = await book(client, therapist_h, THURSDAY, patient_id=c.patient.id)
    assert staff.status == 201, await staff.text()


async def test_types_not_marked_are_booked_as_before(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    assert (await book(client, c.patient_h, TUESDAY, therapist_id=c.therapist.id)).status == 201
    assert (await book(client, c.patient_h, WEDNESDAY, therapist_id=c.therapist.id)).status == 201
    assert (await book(client, c.patient_h, THURSDAY, therapist_id=c.therapist.id)).status == 201
