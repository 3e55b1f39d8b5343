"""A visit whose note is signed is a record: no cancel, move or no-show on any path; the no-show
pass leaves documented visits alone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from telehealth.clock import ManualClock
from telehealth.scheduling.tasks import mark_no_shows
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape, csrf_from_page
from tests.integration.notes.helpers import note_url, ok_json, signable_note, write_signed_note
from tests.integration.scheduling.support import Clinic, book, iso, make_clinic, utc
from tests.integration.scheduling.test_pages import page_sign_in

TUESDAY_10 = utc(2026, 3, 3, 15)
API = "/api/v1/appointments"


async def _booked(c: Clinic, client: TestClient, modality: str = "virtual") -> str:
    response = await book(
        client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id, modality=modality
    )
    body = await ok_json(response, 201)
    return str(body["id"])


async def _signed_visit(
    c: Clinic, client: TestClient, clock: ManualClock, modality: str = "virtual"
) -> tuple[str, dict[str, Any]]:
    aid = await _booked(c, client, modality)
    if modality == "virtual":
        clock.set(TUESDAY_10 - timedelta(minutes=10))
        await ok_json(await client.post(f"{API}/{aid}/check-in", headers=c.patient_h))
    else:
        clock.set(TUESDAY_10 + timedelta(minutes=1))
    note = await write_signed_note(client, c.therapist_h, uuid.UUID(aid), signable_note())
    return aid, note


async def _refused(response: Any, note: dict[str, Any]) -> None:
    error = await assert_error_shape(response, 409, "note_signed")
    # The answer names the signed note and points to an addendum.
    assert error["details"]["note_id"] == note["id"]
    assert note["id"] in error["message"] and "addendum" in error["message"]


async def test_cancel_and_move_are_refused_for_everyone_once_signed(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    aid, note = await _signed_visit(c, client, clock)
    # Checked in and before the start: without the note every one of these would be allowed.
    await _refused(await client.post(f"{API}/{aid}/cancel", json={}, headers=c.patient_h), note)
    for headers in (c.therapist_h, c.admin_h):
        await _refused(
            await client.post(f"{API}/{aid}/cancel", json={"reason": "ill"}, headers=headers), note
        )
    later = iso(TUESDAY_10 + timedelta(days=1))
    for headers in (c.patient_h, c.therapist_h, c.admin_h):
        await _refused(
            await client.post(f"{API}/{aid}/reschedule", json={"start": later}, headers=headers),
            note,
        )
    shown = await ok_json(await client.get(f"{API}/{aid}", headers=c.admin_h))
    assert shown["status"] == "checked_in" and shown["start"].startswith("2026-03-03T15:00")
    assert shown["note_signed_at"] is not None
    assert "cancel" not in shown["actions"]


async def test_in_clinic_visit_signed_after_its_start_is_locked_and_never_a_no_show(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    aid, note = await _signed_visit(c, client, clock, modality="in_clinic")
    clock.set(TUESDAY_10 + timedelta(minutes=20))
    # Nobody checked the patient in on the system, but the visit is documented.
    assert await mark_no_shows(services) == 0
    await _refused(await client.post(f"{API}/{aid}/no-show", headers=c.therapist_h), note)
    await _refused(
        await client.post(f"{API}/{aid}/cancel", json={"reason": "x"}, headers=c.admin_h), note
    )
    shown = await ok_json(await client.get(f"{API}/{aid}", headers=c.therapist_h))
    assert shown["status"] == "booked"
    assert "mark_no_show" not in shown["actions"] and "cancel" not in shown["actions"]


async def test_no_show_pass_skips_a_visit_whose_note_was_started(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    documented = await _booked(c, client, "in_clinic")
    missed = await ok_json(
        await book(
            client,
            c.therapist_h,
            TUESDAY_10 + timedelta(hours=3),
            therapist_id=c.therapist.id,
            patient_id=c.patient.id,
        ),
        201,
    )
    clock.set(TUESDAY_10 + timedelta(minutes=5))
    await ok_json(
        await client.post(note_url(uuid.UUID(documented)), json={}, headers=c.therapist_h), 201
    )
    clock.set(TUESDAY_10 + timedelta(hours=4))
    assert await mark_no_shows(services) == 1
    statuses = {
        aid: (await ok_json(await client.get(f"{API}/{aid}", headers=c.admin_h)))["status"]
        for aid in (documented, missed["id"])
    }
    assert statuses == {documented: "booked", missed["id"]: "no_show"}


async def test_the_page_refuses_too(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    aid, note = await _signed_visit(c, client, clock)
    await page_sign_in(client, c.patient)
    token = await csrf_from_page(client, f"/appointments/{aid}")
    page = await client.post(
        f"/appointments/{aid}/action",
        data={"csrf_token": token, "action": "cancel", "reason": ""},
        allow_redirects=False,
    )
    assert page.status == 409
    text = await page.text()
    assert "note was signed" in text and note["id"] in text
    moved = await client.post(
        f"/appointments/{aid}/reschedule",
        data={"csrf_token": token, "day": "2026-03-04", "time": "10:00"},
        allow_redirects=False,
    )
    assert moved.status == 409
    assert "note was signed" in await moved.text()


async def test_a_series_visit_is_locked_alone(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    series = await ok_json(
        await client.post(
            "/api/v1/appointment-series",
            json={
                "patient_id": str(c.patient.id),
                "type": "follow_up",
                "modality": "virtual",
                "weekdays": [1, 3],
                "time": "10:00",
                "first_day": "2026-03-03",
                "weeks": 2,
                "zone": "America/New_York",
            },
            headers=c.therapist_h,
        ),
        201,
    )
    first, second = series["booked"][0]["id"], series["booked"][1]["id"]
    clock.set(TUESDAY_10 - timedelta(minutes=10))
    await ok_json(await client.post(f"{API}/{first}/check-in", headers=c.patient_h))
    note = await write_signed_note(client, c.therapist_h, uuid.UUID(first), signable_note())
    await _refused(
        await client.post(f"{API}/{first}/cancel", json={"reason": "x"}, headers=c.therapist_h),
        note,
    )
    moved = await client.post(
        f"{API}/{second}/reschedule",
        json={"start": iso(TUESDAY_10 + timedelta(days=3))},
        headers=c.therapist_h,
    )
    assert moved.status == 200, await moved.text()
    cancelled = await client.post(
        f"{API}/{second}/cancel", json={"reason": "plan changed"}, headers=c.therapist_h
    )
    assert (await ok_json(cancelled))["status"] == "cancelled"
