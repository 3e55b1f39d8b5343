"""With PROGRESS_REPORT_BLOCKS_DAILY_NOTES on, a billable daily note that would be an episode's
10th treatment day without a progress report is refused in words; signed as a progress note it
goes through and starts a new count. Off (the default), the caseload only warns."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import T0, People, base_settings
from tests.integration.care.test_plan_of_care_pages import (
    clinic,
    open_episode,
    plan_form,
    post_plan,
)
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    open_and_save,
    signable_note,
    write_signed_note,
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The hard stop on."""
    return replace(base_settings(tmp_path, database_url), progress_report_blocks_daily_notes=True)


async def test_the_tenth_treatment_day_needs_a_progress_report(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    headers = await bearer(client, therapist)
    for day in range(1, 10):  # nine treatment days
        visit = await make_visit(services, patient, therapist, start=T0 + timedelta(days=day))
        await write_signed_note(client, headers, visit, signable_note())
    # A second visit on the ninth day adds no treatment day: it signs.
    same_day = await make_visit(services, patient, therapist, start=T0 + timedelta(days=9, hours=3))
    await write_signed_note(client, headers, same_day, signable_note())

    tenth = await make_visit(services, patient, therapist, start=T0 + timedelta(days=10))
    saved = await open_and_save(client, headers, tenth, signable_note())
    refused = await client.post(
        note_url(tenth, "/sign"), json={"version": saved["version"]}, headers=headers
    )
    await assert_error_shape(refused, 409, "progress_report_due")
    assert "Change the note type to a progress note" in (await refused.json())["error"]["message"]

    # Written as a progress note, it signs, and the next daily note counts from 1 again.
    progress = await client.put(
        note_url(tenth),
        json={"version": saved["version"], "content": signable_note(note_type="progress")},
        headers=headers,
    )
    assert progress.status == 200, await progress.text()
    signed = await client.post(
        note_url(tenth, "/sign"),
        json={"version": (await progress.json())["version"]},
        headers=headers,
    )
    assert signed.status == 200, await signed.text()
    after = await make_visit(services, patient, therapist, start=T0 + timedelta(days=11))
    await write_signed_note(client, headers, after, signable_note())
