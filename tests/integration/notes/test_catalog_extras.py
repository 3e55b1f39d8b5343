"""Admins add catalog entries as data: validated against the packaged catalog, versioned, audited,
and usable in notes at once."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    ok_json,
    open_and_save,
    signable_note,
)

GAIT = {
    "id": "gait-training",
    "name": "Gait training",
    "plain_name": "Walking practice",
    "plain_explanation": "Practice walking more evenly and safely.",
    "cpt": "97116",
    "timed": True,
    "parameters": [{"name": "surface", "label": "Surface", "type": "string", "required": True}],
}


async def test_admin_adds_a_technique_that_notes_can_use(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    admin_h = await bearer(client, admin)

    added = await ok_json(
        await client.post(
            f"{API}/catalog/extras", json={"kind": "techniques", "entry": GAIT}, headers=admin_h
        ),
        201,
    )
    assert added["version"] == 1
    assert [t["id"] for t in added["document"]["techniques"]] == ["gait-training"]

    therapist_h = await bearer(client, therapist)
    catalog = await ok_json(await client.get(f"{API}/catalog", headers=therapist_h))
    assert "gait-training" in {t["id"] for t in catalog["techniques"]}
    content = signable_note()
    content["interventions"].append(
        {"technique": "gait-training", "minutes": 10, "parameters": {"surface": "carpet"}}
    )
    visit = await make_visit(services, patient, therapist)
    saved = await open_and_save(client, therapist_h, visit, content)
    assert any(line["cpt"] == "97116" for line in saved["billing"]["lines"])

    async with services.sessions() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.extend"))
        ).all()
    assert [(e.resource_id, e.details) for e in events] == [
        ("gait-training", {"kind": "techniques", "version": 1})
    ]


async def test_bad_additions_are_refused_with_field_paths(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    therapist = await people.make(Role.THERAPIST)
    admin_h = await bearer(client, admin)
    url = f"{API}/catalog/extras"

    unknown_cpt = await client.post(
        url, json={"kind": "techniques", "entry": {**GAIT, "cpt": "12345"}}, headers=admin_h
    )
    error = await assert_error_shape(unknown_cpt, 422, "invalid_input")
    assert error["details"][0]["field"] == "techniques[0].cpt"

    taken = await client.post(
        url,
        json={"kind": "techniques", "entry": {**GAIT, "id": "therapeutic-exercise"}},
        headers=admin_h,
    )
    error = await assert_error_shape(taken, 422, "invalid_input")
    assert error["details"][0]["field"] == "techniques[0].id"

    await assert_error_shape(
        await client.post(
            url, json={"kind": "techniques", "entry": GAIT}, headers=await bearer(client, therapist)
        ),
        403,
        "permission_denied",
    )
    extras = await ok_json(await client.get(url, headers=admin_h))
    assert extras == {
        "version": 0,
        "document": {"conditions": [], "techniques": [], "exercises": []},
    }
