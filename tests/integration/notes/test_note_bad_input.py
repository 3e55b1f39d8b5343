"""Bad note content is 4xx in the one error shape, naming the field; nothing is saved."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.http.keys import SERVICES
from telehealth.notes.rules import MAX_SECTION_CHARS
from telehealth.unit_of_work import Services
from tests.conftest import People, base_settings
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import bearer, make_visit, note_url, ok_json, signable_note


def _with_line(**changes: Any) -> dict[str, Any]:
    content = signable_note()
    content["interventions"][1].update(changes)
    return content


def _with_grade(grade: Any) -> dict[str, Any]:
    content = signable_note()
    content["interventions"][1]["parameters"]["grade"] = grade
    return content


CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    (
        "unknown technique",
        _with_line(technique="cupping"),
        "interventions[1].technique",
        "unknown technique",
    ),
    (
        "unknown ICD-10-CM code",
        signable_note(diagnoses=[{"code": "Z99.99"}]),
        "diagnoses[0].code",
        "Z99.99 is not an ICD-10-CM code",
    ),
    ("negative minutes", _with_line(minutes=-5), "interventions.1.minutes", None),
    (
        "grade V over video",
        _with_grade("V"),
        "interventions[1].parameters.grade",
        "cannot be performed over video",
    ),
    ("grade VI", _with_grade("VI"), "interventions[1].parameters.grade", "must be one of"),
    ("pain above 10", signable_note(pain_before=11), "pain_before", None),
    (
        "oversized text",
        signable_note(subjective="x" * (MAX_SECTION_CHARS + 1)),
        "subjective",
        "at most",
    ),
]


@pytest.fixture
async def drafting(
    client: TestClient, services: Services, people: People
) -> tuple[dict[str, str], uuid.UUID]:
    """A therapist with an open draft (version 1)."""
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    return headers, visit


@pytest.mark.parametrize(("case", "content", "field", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_content_is_422_naming_the_field(
    client: TestClient,
    drafting: tuple[dict[str, str], uuid.UUID],
    case: str,
    content: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    headers, visit = drafting
    response = await client.put(
        note_url(visit), json={"version": 1, "content": content}, headers=headers
    )
    error = await assert_error_shape(response, 422, "invalid_input")
    fields = {d["field"].replace("[", ".").replace("]", "") for d in error["details"]}
    assert field.replace("[", ".").replace("]", "") in fields, error
    if message:
        assert any(message in d["message"] for d in error["details"]), error
    # Nothing was saved.
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["version"] == 1


async def test_a_wrong_version_type_is_422(
    client: TestClient, drafting: tuple[dict[str, str], uuid.UUID]
) -> None:
    headers, visit = drafting
    response = await client.put(
        note_url(visit), json={"version": "1", "content": signable_note()}, headers=headers
    )
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["version"]


async def test_a_body_over_the_limit_is_413(
    aiohttp_client: Any, tmp_path: Path, database_url: str, clock: ManualClock, people: People
) -> None:
    del people  # the default app; this test needs one with a small body limit
    app = create_app(base_settings(tmp_path, database_url, max_body_bytes=64 * 1024), clock)
    client: TestClient = await aiohttp_client(app)
    small = People(app[SERVICES])
    therapist = await small.make(Role.THERAPIST)
    patient = await small.make(Role.PATIENT)
    visit = await make_visit(app[SERVICES], patient, therapist)
    headers = await bearer(client, therapist)
    await ok_json(await client.post(note_url(visit), json={}, headers=headers), 201)
    huge = signable_note(plan="y" * (100 * 1024))
    response = await client.put(
        note_url(visit), json={"version": 1, "content": huge}, headers=headers
    )
    await assert_error_shape(response, 413, "payload_too_large")
