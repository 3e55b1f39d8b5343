"""Who may read and write a visit note: 404 for everyone but the visit's therapist by default."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
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


@dataclass
class Clinic:
    """Dana treats Alice; Sam treats Bob and is also on Alice's care team; and an admin."""

    dana: Person
    sam: Person
    alice: Person
    bob: Person
    admin: Person
    alice_visit: uuid.UUID
    bob_visit: uuid.UUID


@pytest.fixture
async def clinic(services: Services, people: People) -> Clinic:
    """Two therapists, two patients, one visit each."""
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    bob = await people.make(Role.PATIENT, "Bob Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    await people.assign(alice, sam)
    await people.assign(bob, sam)
    return Clinic(
        dana=dana,
        sam=sam,
        alice=alice,
        bob=bob,
        admin=admin,
        alice_visit=await make_visit(services, alice, dana),
        bob_visit=await make_visit(services, bob, sam),
    )


async def test_another_therapist_can_neither_read_nor_write(
    client: TestClient, clinic: Clinic
) -> None:
    dana = await bearer(client, clinic.dana)
    draft = await open_and_save(client, dana, clinic.alice_visit, signable_note())
    sam = await bearer(client, clinic.sam)
    url = note_url(clinic.alice_visit)
    # Sam is on Alice's care team, but the care-team setting is off.
    for response in (
        await client.get(url, headers=sam),
        await client.post(url, json={}, headers=sam),
        await client.put(url, json={"version": 2, "content": signable_note()}, headers=sam),
        await client.post(note_url(clinic.alice_visit, "/sign"), json={"version": 2}, headers=sam),
        await client.post(
            note_url(clinic.alice_visit, "/addenda"), json={"reason": "r", "text": "t"}, headers=sam
        ),
    ):
        await assert_error_shape(response, 404, "not_found")
    unchanged = await ok_json(await client.get(url, headers=dana))
    assert unchanged["version"] == draft["version"]


async def test_foreign_and_missing_visits_answer_alike(client: TestClient, clinic: Clinic) -> None:
    dana = await bearer(client, clinic.dana)
    foreign = await client.get(note_url(clinic.bob_visit), headers=dana)
    missing = await client.get(note_url(uuid.uuid4()), headers=dana)
    a = await assert_error_shape(foreign, 404, "not_found")
    b = await assert_error_shape(missing, 404, "not_found")
    assert a["message"] == b["message"]


async def test_patients_never_see_drafts_or_the_clinical_note(
    client: TestClient, clinic: Clinic
) -> None:
    dana = await bearer(client, clinic.dana)
    await open_and_save(client, dana, clinic.alice_visit, signable_note())
    alice = await bearer(client, clinic.alice)
    summary_url = f"{API}/appointments/{clinic.alice_visit}/summary"
    # A draft has no summary yet, and the clinical note is never the patient's to read.
    await assert_error_shape(await client.get(summary_url, headers=alice), 404, "not_found")
    await assert_error_shape(
        await client.get(note_url(clinic.alice_visit), headers=alice), 404, "not_found"
    )
    await assert_error_shape(
        await client.post(note_url(clinic.alice_visit), json={}, headers=alice), 404, "not_found"
    )
    exercises = await ok_json(await client.get(f"{API}/me/exercises", headers=alice))
    assert exercises["items"] == []


async def test_patient_gets_the_plain_summary_of_a_signed_note(
    client: TestClient, clinic: Clinic
) -> None:
    dana = await bearer(client, clinic.dana)
    content = signable_note()
    await ok_json(
        await client.put(
            note_url(clinic.alice_visit),
            json={
                "version": (
                    await ok_json(
                        await client.post(note_url(clinic.alice_visit), json={}, headers=dana), 201
                    )
                )["version"],
                "content": content,
            },
            headers=dana,
        )
    )
    await ok_json(
        await client.post(note_url(clinic.alice_visit, "/sign"), json={"version": 2}, headers=dana)
    )
    alice = await bearer(client, clinic.alice)
    summary = await ok_json(
        await client.get(f"{API}/appointments/{clinic.alice_visit}/summary", headers=alice)
    )
    assert summary["title"] == "Your therapy visit"
    assert summary["therapist_name"] == "Dana Therapist"
    assert [e["exercise_id"] for e in summary["home_exercises"]] == ["bridge", "piriformis-stretch"]
    text = str(summary)
    # No SOAP text, no codes.
    for clinical in (content["subjective"], content["objective"], content["assessment"], "M16.11"):
        assert clinical not in text
    exercises = await ok_json(await client.get(f"{API}/me/exercises", headers=alice))
    assert [i["exercise"]["exercise_id"] for i in exercises["items"]] == [
        "bridge",
        "piriformis-stretch",
    ]
    listed = await ok_json(await client.get(f"{API}/me/visit-summaries", headers=alice))
    assert [s["appointment_id"] for s in listed["items"]] == [str(clinic.alice_visit)]

    # Bob sees nothing of Alice's.
    bob = await bearer(client, clinic.bob)
    await assert_error_shape(
        await client.get(f"{API}/appointments/{clinic.alice_visit}/summary", headers=bob),
        404,
        "not_found",
    )
    assert (await ok_json(await client.get(f"{API}/me/exercises", headers=bob)))["items"] == []


async def test_admin_cannot_read_notes_by_default(client: TestClient, clinic: Clinic) -> None:
    dana = await bearer(client, clinic.dana)
    await write_signed_note(client, dana, clinic.alice_visit, signable_note())
    admin = await bearer(client, clinic.admin)
    await assert_error_shape(
        await client.get(note_url(clinic.alice_visit), headers=admin), 404, "not_found"
    )
    # Nor write one: only the visit's therapist writes.
    await assert_error_shape(
        await client.post(note_url(clinic.bob_visit), json={}, headers=admin), 404, "not_found"
    )
