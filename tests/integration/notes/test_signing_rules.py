"""A note is signed only once its visit has started; a missed or cancelled visit's draft is never
signed; "entered in error" withdraws a signed note without changing it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services
from tests.conftest import T0, People, base_settings
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    note_url,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings of the app under test, with sessions that survive a moved clock."""
    return base_settings(tmp_path, database_url, session_idle=timedelta(days=60))


async def _sign(
    client: TestClient, headers: dict[str, str], visit: uuid.UUID, version: int
) -> ClientResponse:
    return await client.post(note_url(visit, "/sign"), json={"version": version}, headers=headers)


async def test_a_video_visit_is_signed_once_the_patient_checked_in(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    start = T0 + timedelta(hours=2)
    visit = await make_visit(services, patient, therapist, start=start, status="booked")
    headers = await bearer(client, therapist)
    saved = await open_and_save(client, headers, visit, signable_note())

    # Even after its start, a video visit nobody joined has not started.
    clock.set(start + timedelta(minutes=5))
    refused = await _sign(client, headers, visit, saved["version"])
    error = await assert_error_shape(refused, 409, "visit_not_started")
    assert "checked in" in error["message"]
    still = await ok_json(await client.get(note_url(visit), headers=headers))
    assert still["status"] == "draft"

    patient_h = await bearer(client, patient)
    await ok_json(await client.post(f"{API}/appointments/{visit}/check-in", headers=patient_h))
    signed = await ok_json(await _sign(client, headers, visit, saved["version"]))
    assert signed["status"] == "signed"


async def test_an_in_clinic_visit_is_signed_once_its_start_has_passed(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    start = T0 + timedelta(hours=1)
    visit = await make_visit(services, patient, therapist, start=start, status="booked")
    async with services.sessions() as session:
        row = await session.get(Appointment, visit)
        assert row is not None
        row.modality = "in_clinic"
        await session.commit()
    headers = await bearer(client, therapist)
    saved = await open_and_save(client, headers, visit, signable_note())
    error = await assert_error_shape(
        await _sign(client, headers, visit, saved["version"]), 409, "visit_not_started"
    )
    assert "start time" in error["message"]
    clock.set(start)
    assert (await ok_json(await _sign(client, headers, visit, saved["version"])))["status"] == (
        "signed"
    )


async def test_a_missed_visit_keeps_its_draft_unsigned(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist, status="checked_in")
    headers = await bearer(client, therapist)
    saved = await open_and_save(client, headers, visit, signable_note())
    admin = await people.make(Role.ADMIN)
    admin_h = await bearer(client, admin)
    clock.set(T0 + timedelta(minutes=10))
    await ok_json(
        await client.post(
            f"{API}/appointments/{visit}/cancel", json={"reason": "left early"}, headers=admin_h
        )
    )
    await assert_error_shape(
        await _sign(client, headers, visit, saved["version"]), 409, "visit_not_held"
    )
    draft = await ok_json(await client.get(note_url(visit), headers=headers))
    assert draft["status"] == "draft" and draft["content"]["subjective"]


async def test_entered_in_error_withdraws_a_signed_note_everywhere_but_on_the_note(
    client: TestClient, services: Services, people: People, settings: Settings
) -> None:
    therapist = await people.make(Role.THERAPIST)
    other_therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    admin = await people.make(Role.ADMIN)
    await people.assign(patient, therapist)
    kept = await make_visit(services, patient, therapist, start=T0 - timedelta(days=2))
    wrong = await make_visit(services, patient, therapist, start=T0 - timedelta(days=1))
    headers = await bearer(client, therapist)
    await write_signed_note(client, headers, kept, signable_note())
    signed = await write_signed_note(client, headers, wrong, signable_note())
    patient_h = await bearer(client, patient)
    admin_h = await bearer(client, admin)
    url = note_url(wrong, "/entered-in-error")

    report_url = f"{API}/reports/techniques?start=2026-02-01&end=2026-03-31"
    before = await ok_json(await client.get(report_url, headers=admin_h))
    assert before["notes"] == 2

    # Not the patient, not another therapist: 404 as for any note they may not touch.
    for who in (patient_h, await bearer(client, other_therapist)):
        await assert_error_shape(await client.post(url, json={"reason": "x"}, headers=who), 404)
    await assert_error_shape(await client.post(url, json={}, headers=admin_h), 422)
    marked = await ok_json(
        await client.post(url, json={"reason": "written for the wrong patient"}, headers=admin_h),
        201,
    )
    assert marked["note_id"] == signed["id"] and marked["marked_by"] == str(admin.id)
    await assert_error_shape(
        await client.post(url, json={"reason": "again"}, headers=headers),
        409,
        "already_entered_in_error",
    )

    # The note stays readable, unchanged, and its signature still verifies with the mark chained.
    note = await ok_json(await client.get(note_url(wrong), headers=headers))
    assert note["content"] == signed["content"] and note["signature"]["verified"]
    assert note["entered_in_error"]["reason"] == "written for the wrong patient"
    assert [a["kind"] for a in note["addenda"]] == ["entered_in_error"]
    visit = await ok_json(await client.get(f"{API}/appointments/{wrong}", headers=admin_h))
    assert visit["note_entered_in_error_at"] is not None

    after = await ok_json(await client.get(report_url, headers=admin_h))
    assert after["notes"] == 1 and after["total_units"] == before["total_units"] // 2
    summaries = (await ok_json(await client.get(f"{API}/me/visit-summaries", headers=patient_h)))[
        "items"
    ]
    by_visit = {s["appointment_id"]: s for s in summaries}
    assert by_visit[str(wrong)]["withdrawn"] and not by_visit[str(wrong)]["treatments"]
    assert not by_visit[str(kept)]["withdrawn"] and by_visit[str(kept)]["treatments"]
    exercises = (await ok_json(await client.get(f"{API}/me/exercises", headers=patient_h)))["items"]
    assert {e["appointment_id"] for e in exercises} == {str(kept)}
    history = await ok_json(
        await client.get(f"{API}/patients/{patient.id}/treatment-history", headers=headers)
    )
    assert [e["appointment_id"] for e in history["entries"]] == [str(kept)]
    async with client.get(f"{API}/patients/{patient.id}/fhir", headers=headers) as response:
        assert response.status == 200
        bundle = await response.json(content_type=None)
    appointments = {
        entry["resource"]["id"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Appointment"
    }
    assert appointments == {str(kept)}
    async with services.sessions() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.outcome).where(AuditEvent.action == "note.entered_in_error")
            )
        ).all()
    assert sorted(actions) == ["denied", "denied", "failure", "success"]
    assert settings.notes_readable_by_admins is False  # the mark needs no read access


async def test_the_signer_may_mark_their_own_note(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    opened = await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    url = note_url(visit, "/entered-in-error")
    await assert_error_shape(
        await client.post(url, json={"reason": "draft"}, headers=headers), 409, "note_not_signed"
    )
    await ok_json(
        await client.put(
            note_url(visit),
            json={"version": opened["version"], "content": signable_note()},
            headers=headers,
        )
    )
    await ok_json(await _sign(client, headers, visit, opened["version"] + 1))
    await ok_json(await client.post(url, json={"reason": "wrong visit"}, headers=headers), 201)


async def test_openapi_lists_the_named_refusals(client: TestClient) -> None:
    document = await ok_json(await client.get(f"{API}/openapi.json"))
    paths = document["paths"]

    def codes(path: str) -> list[str]:
        return list(paths[f"{API}{path}"]["post"]["responses"]["default"]["x-error-codes"])

    assert {"visit_not_started", "visit_not_held"} <= set(
        codes("/appointments/{appointment_id}/note/sign")
    )
    for action in ("cancel", "reschedule", "no-show"):
        assert "note_signed" in codes(f"/appointments/{{appointment_id}}/{action}")
    assert "draft_not_empty" in codes("/appointments/{appointment_id}/note/copy-forward")
