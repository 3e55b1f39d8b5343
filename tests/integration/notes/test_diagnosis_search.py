"""Diagnosis search over the whole code set, and signing refused for codes a claim cannot carry."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from yarl import URL

from telehealth.accounts.models import Role
from telehealth.notes.schemas import DiagnosisQuery
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    note_url,
    ok_json,
    open_and_save,
    signable_note,
)

SEARCH = f"{API}/catalog/diagnoses"


async def test_therapists_and_admins_search_with_the_clinics_codes_first(
    client: TestClient, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    admin = await people.make(Role.ADMIN)
    for person in (therapist, admin):
        headers = await bearer(client, person)
        found = await ok_json(
            await client.get(SEARCH, params={"q": "knee", "limit": "40"}, headers=headers)
        )
        assert found["edition"].startswith("ICD-10-CM FY2026")
        items = found["items"]
        assert len(items) == 40
        favourites = [i for i in items if i["favourite"]]
        assert favourites and items[: len(favourites)] == favourites
        assert any(not i["favourite"] for i in items)
        assert set(items[0]) == {
            "code",
            "name",
            "billable",
            "favourite",
            "condition_id",
            "condition",
        }

    headers = await bearer(client, therapist)
    by_code = await ok_json(await client.get(SEARCH, params={"q": "m54.5"}, headers=headers))
    assert [(i["code"], i["billable"]) for i in by_code["items"]] == [
        ("M54.50", True),
        ("M54.51", True),
        ("M54.59", True),
        ("M54.5", False),
    ]
    assert [i["favourite"] for i in by_code["items"]] == [True, True, True, False]
    words = await ok_json(
        await client.get(SEARCH, params={"q": "Pain RIGHT hand"}, headers=headers)
    )
    assert "M79.641" in [i["code"] for i in words["items"]]
    assert all("right" in i["name"].lower() for i in words["items"])


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "k"},
        {"q": "x" * 101},
        {"q": "--"},
        {"q": "knee", "limit": "0"},
        {"q": "knee", "limit": "51"},
        {"q": "knee", "limit": "ten"},
        {"q": "knee", "sort": "code"},
    ],
)
async def test_bad_searches_are_refused_in_the_error_shape(
    client: TestClient, people: People, params: dict[str, str]
) -> None:
    headers = await bearer(client, await people.make(Role.THERAPIST))
    response = await client.get(SEARCH, params=params, headers=headers)
    error = await assert_error_shape(response, 422, "invalid_input")
    assert error["details"]


@pytest.mark.parametrize(
    "q", ["knee\x00", "\x00\x00", "kn\x01ee", "knee\x1b[2J", "knee\x7f", "knee\x85", "knee\n"]
)
async def test_control_characters_in_a_search_are_422(
    client: TestClient, people: People, q: str
) -> None:
    # The one text rule, as for every other text a request carries: PostgreSQL would refuse a NUL
    # wherever the search text went next, and SQLite would keep it.
    headers = await bearer(client, await people.make(Role.THERAPIST))
    response = await client.get(SEARCH, params={"q": q}, headers=headers)
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [(d["field"], d["type"]) for d in error["details"]] == [("q", "control_character")]


def test_a_lone_surrogate_in_a_search_is_refused_by_its_schema() -> None:
    for q in ("knee\ud800", "\udfffknee"):
        with pytest.raises(ValidationError) as raised:
            DiagnosisQuery.model_validate({"q": q})
        assert [e["type"] for e in raised.value.errors()] == ["control_character"]


async def test_the_escapes_of_a_lone_surrogate_never_reach_a_search_as_one(
    client: TestClient, people: People
) -> None:
    # A URL carries bytes, and %ED%A0%80 (U+D800 as if it were UTF-8) is not UTF-8: the query
    # string reads it as U+FFFD, which is text like any other. Should that reading ever change,
    # the schema above refuses it; either way the answer is never a 5xx.
    headers = await bearer(client, await people.make(Role.THERAPIST))
    url = URL(f"{SEARCH}?q=knee%ED%A0%80", encoded=True)
    response = await client.get(url, headers=headers)
    if response.status == 422:
        error = await assert_error_shape(response, 422, "invalid_input")
        assert [d["field"] for d in error["details"]] == ["q"]
    else:
        found = await ok_json(response)
        assert found["items"]


async def test_patients_and_strangers_cannot_search(client: TestClient, people: People) -> None:
    await assert_error_shape(await client.get(SEARCH, params={"q": "knee"}), 401)
    patient = await people.make(Role.PATIENT)
    response = await client.get(SEARCH, params={"q": "knee"}, headers=await bearer(client, patient))
    await assert_error_shape(response, 403, "permission_denied")


async def test_the_search_is_in_the_openapi_document(client: TestClient) -> None:
    document = await ok_json(await client.get(f"{API}/openapi.json"))
    operation = document["paths"][SEARCH]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "limit"}
    assert "DiagnosesOut" in document["components"]["schemas"]


async def _draft(
    client: TestClient, services: Services, people: People, diagnoses: list[dict[str, Any]]
) -> tuple[dict[str, str], Any, dict[str, Any]]:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    await people.assign(patient, therapist)
    headers = await bearer(client, therapist)
    visit = await make_visit(services, patient, therapist)
    saved = await open_and_save(client, headers, visit, signable_note(diagnoses=diagnoses))
    return headers, visit, saved


@pytest.mark.parametrize(
    ("diagnoses", "field", "message"),
    [
        ([{"code": "M54.5"}], "diagnoses[0].code", "M54.5 is not billable"),
        ([{"code": "S73.101"}], "diagnoses[0].code", "S73.101 needs its 7th character"),
        (
            [{"code": "M54.50"}, {"code": "M51.360"}],
            "diagnoses[1].code",
            "M51.360 cannot be coded with M54.50",
        ),
        (
            [{"code": "M17.10", "laterality": "right"}],
            "diagnoses[0].laterality",
            "use M17.11",
        ),
    ],
)
async def test_a_draft_saves_but_signing_is_refused_naming_the_diagnosis(
    client: TestClient,
    services: Services,
    people: People,
    diagnoses: list[dict[str, Any]],
    field: str,
    message: str,
) -> None:
    headers, visit, saved = await _draft(client, services, people, diagnoses)
    [missing] = saved["signing_problems"]
    assert missing["field"] == field and message in missing["message"]
    again = await ok_json(await client.get(note_url(visit), headers=headers))
    assert again["signing_problems"] == saved["signing_problems"]

    response = await client.post(
        note_url(visit, "/sign"), json={"version": saved["version"]}, headers=headers
    )
    error = await assert_error_shape(response, 422, "invalid_input")
    assert message in error["message"]
    assert [(d["field"], message in d["message"]) for d in error["details"]] == [(field, True)]
    still = await ok_json(await client.get(note_url(visit), headers=headers))
    assert still["status"] == "draft"


async def test_a_code_outside_the_catalog_signs_and_reads_by_its_title(
    client: TestClient, services: Services, people: People
) -> None:
    headers, visit, saved = await _draft(
        client, services, people, [{"code": "M79.641", "laterality": "right"}]
    )
    assert saved["signing_problems"] == []
    signed = await ok_json(
        await client.post(
            note_url(visit, "/sign"), json={"version": saved["version"]}, headers=headers
        )
    )
    assert signed["status"] == "signed"
    history = await ok_json(
        await client.get(
            f"{API}/patients/{signed['patient_id']}/treatment-history", headers=headers
        )
    )
    assert history["entries"][0]["conditions"] == [
        {"code": "M79.641", "name": "Pain in right hand"}
    ]
