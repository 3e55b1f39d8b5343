"""With NOTES_READABLE_BY_ADMINS and NOTES_READABLE_BY_CARE_TEAM on, those readers may read, not write."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import People, base_settings
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    ok_json,
    signable_note,
    write_signed_note,
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Both note-reading settings on."""
    return base_settings(
        tmp_path, database_url, notes_readable_by_admins=True, notes_readable_by_care_team=True
    )


async def test_admin_and_care_team_read_but_do_not_write(
    client: TestClient, services: Services, people: People
) -> None:
    dana = await people.make(Role.THERAPIST)
    sam = await people.make(Role.THERAPIST)
    outsider = await people.make(Role.THERAPIST)
    alice = await people.make(Role.PATIENT)
    admin = await people.make(Role.ADMIN)
    await people.assign(alice, dana)
    await people.assign(alice, sam)
    visit = await make_visit(services, alice, dana)
    signed = await write_signed_note(client, await bearer(client, dana), visit, signable_note())

    for reader in (admin, sam):
        headers = await bearer(client, reader)
        read = await ok_json(await client.get(note_url(visit), headers=headers))
        assert read["content"] == signed["content"] and read["editable"] is False
        await assert_error_shape(
            await client.post(
                note_url(visit, "/addenda"), json={"reason": "r", "text": "t"}, headers=headers
            ),
            404,
            "not_found",
        )
    # A therapist off the care team still sees nothing.
    headers = await bearer(client, outsider)
    await assert_error_shape(await client.get(note_url(visit), headers=headers), 404, "not_found")
    # Patients still never read the clinical note.
    headers = await bearer(client, alice)
    await assert_error_shape(await client.get(note_url(visit), headers=headers), 404, "not_found")
