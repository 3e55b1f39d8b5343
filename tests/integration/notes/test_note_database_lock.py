"""The database itself refuses to change a signed note or an addendum, even bypassing the service."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.exc import DBAPIError

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import execute_sql, scalar_sql
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)


async def test_signed_rows_and_addenda_cannot_be_changed_by_sql(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    signed_visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    signed = await write_signed_note(client, headers, signed_visit, signable_note())
    await ok_json(
        await client.post(
            note_url(signed_visit, "/addenda"),
            json={"reason": "Late entry", "text": "Called back."},
            headers=headers,
        ),
        201,
    )
    # The test's database holds this one note, so the statements need no WHERE clause.
    for statement in (
        "UPDATE visit_notes SET content = '{}'",
        "UPDATE visit_notes SET content_hash = '" + "0" * 64 + "'",
        "UPDATE visit_notes SET status = 'draft'",
        "DELETE FROM visit_notes",
        "UPDATE note_addenda SET text = 'rewritten'",
        "DELETE FROM note_addenda",
    ):
        with pytest.raises(DBAPIError, match="note_locked"):
            await execute_sql(database_url, statement)

    read = await ok_json(await client.get(note_url(signed_visit), headers=headers))
    assert read["content"] == signed["content"]
    assert read["signature"]["verified"] is True
    assert await scalar_sql(services, "SELECT count(*) FROM note_addenda") == 1


async def test_drafts_stay_writable(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    draft = await open_and_save(client, headers, visit, signable_note())
    await execute_sql(database_url, "UPDATE visit_notes SET version = version + 1")
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["version"] == draft["version"] + 1
