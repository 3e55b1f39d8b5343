"""The visit note workflow over HTTP: open, autosave with versions, sign and lock, addenda, audit."""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.notes.canonical import content_hash
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import bearer, make_visit, note_url, ok_json, signable_note


async def test_open_creates_one_draft_per_visit(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist, evaluation=True)
    headers = await bearer(client, therapist)

    first = await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    again = await ok_json(await client.post(note_url(visit), json={}, headers=headers), 200)
    assert first["id"] == again["id"]
    assert first["status"] == "draft" and first["version"] == 1 and first["editable"]
    # The visit's type is an evaluation, so the note starts as one.
    assert first["note_type"] == "initial_evaluation"
    assert first["content"]["note_type"] == "initial_evaluation"
    assert {p["field"] for p in first["signing_problems"]} >= {"subjective", "diagnoses"}


async def test_autosave_bumps_the_version_and_bills_live(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    opened = await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)

    saved = await ok_json(
        await client.put(
            note_url(visit), json={"version": 1, "content": signable_note()}, headers=headers
        )
    )
    assert saved["version"] == opened["version"] + 1
    # 23 + 10 + 8 + 5 = 46 timed minutes -> 3 units: 97110 x2 (23 min), 97140 x1 (23 min).
    billing = saved["billing"]
    assert billing["timed_minutes"] == 46 and billing["total_units"] == 3
    assert {line["cpt"]: line["units"] for line in billing["lines"]} == {"97110": 2, "97140": 1}
    assert billing["modifiers"] == ["95", "GP"]
    assert billing["line_units"] == [2, 1, 0, 0]
    assert saved["signing_problems"] == []

    # Saving the same content again changes nothing, so an idle second tab causes no conflict.
    same = await ok_json(
        await client.put(
            note_url(visit), json={"version": 2, "content": signable_note()}, headers=headers
        )
    )
    assert same["version"] == 2


async def test_two_tabs_the_later_edit_is_never_lost_silently(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)

    # Both tabs loaded version 1. Tab A saves first.
    tab_a = signable_note(subjective="Tab A: hip ache 5/10.")
    tab_b = signable_note(subjective="Tab B: hip ache 4/10 after the weekend.")
    saved_a = await ok_json(
        await client.put(note_url(visit), json={"version": 1, "content": tab_a}, headers=headers)
    )
    assert saved_a["version"] == 2

    # Tab B, still on version 1, is refused and shown what tab A saved.
    stale = await client.put(
        note_url(visit), json={"version": 1, "content": tab_b}, headers=headers
    )
    error = await assert_error_shape(stale, 409, "stale_version")
    current = error["details"]["current"]
    assert current["version"] == 2
    assert current["content"]["subjective"] == "Tab A: hip ache 5/10."

    # Tab B decides to keep its text, now based on the version it was shown: nothing was lost.
    kept = await ok_json(
        await client.put(note_url(visit), json={"version": 2, "content": tab_b}, headers=headers)
    )
    assert kept["version"] == 3
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["content"]["subjective"] == "Tab B: hip ache 4/10 after the weekend."


async def test_sign_locks_the_note_and_addenda_keep_the_original(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    saved = await ok_json(
        await client.put(
            note_url(visit), json={"version": 1, "content": signable_note()}, headers=headers
        )
    )

    clock.advance(timedelta(minutes=5))
    signed = await ok_json(
        await client.post(note_url(visit, "/sign"), json={"version": 2}, headers=headers)
    )
    assert signed["status"] == "signed" and not signed["editable"]
    signature = signed["signature"]
    assert signature["signed_by"] == str(therapist.id)
    assert signature["signed_at"].startswith(clock.now().isoformat()[:19])
    assert signature["content_hash"] == content_hash(saved["content"])
    assert signature["verified"] is True and signature["problems"] == []

    # Every change after signing answers 409 note_locked.
    edit = await client.put(
        note_url(visit),
        json={"version": signed["version"], "content": signable_note(plan="Changed later.")},
        headers=headers,
    )
    await assert_error_shape(edit, 409, "note_locked")
    again = await client.post(
        note_url(visit, "/sign"), json={"version": signed["version"]}, headers=headers
    )
    await assert_error_shape(again, 409, "note_locked")

    # An addendum is added beside the original, with its own hash chained to the content hash.
    clock.advance(timedelta(minutes=10))
    with_addendum = await ok_json(
        await client.post(
            note_url(visit, "/addenda"),
            json={"reason": "Late entry", "text": "Patient called: pain 3/10 next morning."},
            headers=headers,
        ),
        201,
    )
    assert with_addendum["content"] == signed["content"]
    [addendum] = with_addendum["addenda"]
    assert addendum["author_id"] == str(therapist.id)
    assert addendum["parent_hash"] == signature["seal"]  # the first addendum chains to the seal
    assert len(addendum["hash"]) == 64
    assert with_addendum["signature"]["verified"] is True


async def test_signing_needs_a_complete_note(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    incomplete = signable_note(assessment="", diagnoses=[])
    await ok_json(
        await client.put(
            note_url(visit), json={"version": 1, "content": incomplete}, headers=headers
        )
    )
    response = await client.post(note_url(visit, "/sign"), json={"version": 2}, headers=headers)
    error = await assert_error_shape(response, 422, "invalid_input")
    assert {d["field"] for d in error["details"]} == {"assessment", "diagnoses"}
    # An addendum needs a signed note.
    early = await client.post(
        note_url(visit, "/addenda"), json={"reason": "r", "text": "t"}, headers=headers
    )
    await assert_error_shape(early, 409, "note_not_signed")


async def test_every_read_and_write_is_audited_without_clinical_text(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    content = signable_note()
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    await ok_json(
        await client.put(note_url(visit), json={"version": 1, "content": content}, headers=headers)
    )
    await ok_json(await client.get(note_url(visit), headers=headers))
    await ok_json(await client.post(note_url(visit, "/sign"), json={"version": 2}, headers=headers))
    await ok_json(
        await client.post(
            note_url(visit, "/addenda"),
            json={"reason": "Correction", "text": "Secret addendum words."},
            headers=headers,
        ),
        201,
    )
    patient_headers = await bearer(client, patient)
    await ok_json(
        await client.get(f"/api/v1/appointments/{visit}/summary", headers=patient_headers)
    )

    async with services.sessions() as session:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.resource_type == "visit_note")
                .order_by(AuditEvent.seq)
            )
        ).all()
    assert [r.action for r in rows] == [
        "note.create",
        "note.save",
        "note.read",
        "note.sign",
        "note.addendum",
        "note.summary.read",
    ]
    assert all(r.patient_id == patient.id and r.resource_id == str(visit) for r in rows)
    details = json.dumps([r.details for r in rows])
    for text in (content["subjective"], content["assessment"], "Secret addendum words", "bridge"):
        assert text not in details
