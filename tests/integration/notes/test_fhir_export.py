"""The FHIR export: a Bundle that validates as FHIR R4 (R4B models), scoped and audited."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from aiohttp.test_utils import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)


async def test_patient_bundle_validates_and_is_scoped(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Therapist")
    sam = await people.make(Role.THERAPIST, "Sam Therapist")
    alice = await people.make(Role.PATIENT, "Alice Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    dana_h = await bearer(client, dana)
    for day in (0, 2):
        visit = await make_visit(services, alice, dana, T0 + timedelta(days=day))
        await write_signed_note(client, dana_h, visit, signable_note())
    draft = await make_visit(services, alice, dana, T0 + timedelta(days=4))
    await open_and_save(client, dana_h, draft, signable_note())

    url = f"{API}/patients/{alice.id}/fhir"
    response = await client.get(url, headers=dana_h)
    assert response.status == 200
    assert response.content_type == "application/fhir+json"
    body = await response.json()
    Bundle.model_validate(body)
    kinds = Counter(entry["resource"]["resourceType"] for entry in body["entry"])
    # Two signed notes (the draft is left out), each with two diagnoses, four technique lines and
    # a home program.
    assert kinds == {
        "Patient": 1,
        "Practitioner": 1,
        "Appointment": 2,
        "Encounter": 2,
        "Condition": 4,
        "Procedure": 8,
        "CarePlan": 2,
    }
    cpts = {
        entry["resource"]["code"]["coding"][0]["code"]
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "Procedure"
    }
    assert cpts == {"97110", "97140"}
    assert all("subjective" not in str(entry["resource"]).lower() for entry in body["entry"])

    # The patient may export their own record.
    own = await ok_json(await client.get(url, headers=await bearer(client, alice)))
    Bundle.model_validate(own)
    assert len(own["entry"]) == len(body["entry"])
    # Another therapist: 404; the admin, without the notes setting, gets the Patient only.
    await assert_error_shape(
        await client.get(url, headers=await bearer(client, sam)), 404, "not_found"
    )
    as_admin = await ok_json(await client.get(url, headers=await bearer(client, admin)))
    Bundle.model_validate(as_admin)
    assert [e["resource"]["resourceType"] for e in as_admin["entry"]] == ["Patient"]

    async with services.sessions() as session:
        exports = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "note.fhir.export"))
        ).all()
    assert [e.details["notes"] for e in exports] == [2, 2, 0]
    assert all(e.patient_id == alice.id for e in exports)
