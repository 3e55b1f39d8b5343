"""Other people's data answers 404 (no existence leak) on every endpoint that takes an id;
admin-only endpoints answer 403 whatever the id.

The endpoints are discovered from the OpenAPI document, so an endpoint added later is covered
without touching this file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape

# Path parameters that name a person; any other parameter still gets patient B's id (and must
# answer 404 to patient A), but only these are known to name an object the admin can reach.
PERSON_PARAMETERS = {"patient_id", "user_id"}


@dataclass(frozen=True)
class Operation:
    """One documented operation with an id in its path."""

    method: str
    path: str
    parameters: tuple[str, ...]
    body_schema: dict[str, Any] | None
    admin_only: bool = False

    def url(self, value: str) -> str:
        """The path with every parameter set to value."""
        url = self.path
        for name in self.parameters:
            url = url.replace("{" + name + "}", value)
        return url

    @property
    def names_a_person(self) -> bool:
        """Whether every parameter is a person id."""
        return set(self.parameters) <= PERSON_PARAMETERS


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _example(document: dict[str, Any], schema: dict[str, Any], fill: dict[str, str]) -> Any:
    """A valid value for a JSON schema (required properties only)."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(document, s).get("type") != "null"]
        return _example(document, options[0], fill)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: fill.get(name) or _example(document, sub, fill)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date":
        return "2000-01-01"
    if schema.get("format") == "date-time":
        return "2026-03-02T14:00:00Z"
    return "x" * max(1, int(schema.get("minLength", 1)))


async def _operations_with_ids(client: TestClient) -> tuple[dict[str, Any], list[Operation]]:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operations: list[Operation] = []
    for path, methods in document["paths"].items():
        if "{" not in path:
            continue
        for method, spec in methods.items():
            if "security" not in spec:
                # A public operation: its path holds a capability token (a guest's link), not
                # an id, and is the credential; tests/integration/visits/test_guests.py covers it.
                continue
            parameters = tuple(p["name"] for p in spec.get("parameters", []) if p["in"] == "path")
            body = (
                spec.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            admin_only = spec["summary"].endswith("(admin)")
            operations.append(Operation(method.upper(), path, parameters, body, admin_only))
    assert operations, "no operation takes an id: discovery is broken"
    return document, operations


@dataclass
class Clinic:
    """Two patients with different therapists, and an admin."""

    admin: Person
    patient_a: Person
    patient_b: Person
    therapist_a: Person
    therapist_b: Person


@pytest.fixture
async def clinic(people: People) -> Clinic:
    """Patient A is Dana's, patient B is Sam's."""
    clinic = Clinic(
        admin=await people.make(Role.ADMIN),
        patient_a=await people.make(Role.PATIENT, "Alice Patient"),
        patient_b=await people.make(Role.PATIENT, "Bob Patient"),
        therapist_a=await people.make(Role.THERAPIST, "Dana Therapist"),
        therapist_b=await people.make(Role.THERAPIST, "Sam Therapist"),
    )
    await people.assign(clinic.patient_a, clinic.therapist_a)
    await people.assign(clinic.patient_b, clinic.therapist_b)
    return clinic


async def _bearer(client: TestClient, person: Person) -> dict[str, str]:
    headers = await login(client, person)
    client.session.cookie_jar.clear()
    return headers


def _target(op: Operation, clinic: Clinic, missing: bool) -> str:
    """The path naming patient B's objects (or an id that exists nowhere)."""
    url = op.path
    for name in op.parameters:
        if missing:
            value = str(uuid.uuid4())
        elif name == "therapist_id":
            value = str(clinic.therapist_b.id)
        else:
            # patient_id, user_id; for kinds of objects this file cannot create yet, patient B's id
            # stands in (the answer must still be the one for a missing object).
            value = str(clinic.patient_b.id)
        url = url.replace("{" + name + "}", value)
    return url


async def test_patient_gets_404_for_another_patient_on_every_id_endpoint(
    client: TestClient, clinic: Clinic
) -> None:
    document, operations = await _operations_with_ids(client)
    fill = {
        "therapist_id": str(clinic.therapist_a.id),
        "patient_id": str(clinic.patient_b.id),
        "user_id": str(clinic.patient_b.id),
    }
    patient = await _bearer(client, clinic.patient_a)
    admin = await _bearer(client, clinic.admin)
    checked = []
    for op in operations:
        body = _example(document, op.body_schema, fill) if op.body_schema else None
        name = f"{op.method} {op.path}"
        foreign = await client.request(
            op.method, _target(op, clinic, False), json=body, headers=patient
        )
        missing = await client.request(
            op.method, _target(op, clinic, True), json=body, headers=patient
        )
        foreign_error = await assert_error_shape(foreign)
        missing_error = await assert_error_shape(missing)
        # No existence leak: another patient's object answers exactly like one that does not exist.
        assert (foreign.status, foreign_error["code"]) == (missing.status, missing_error["code"]), (
            name
        )
        if op.admin_only:
            # The role check comes before any lookup: 403 for every id (docs/security.md).
            assert foreign.status == 403, f"{name}: {foreign_error}"
        elif op.names_a_person:
            assert foreign.status == 404, f"{name}: {foreign_error}"
        else:
            # A role that may never do this may say so (403), which names no object.
            assert foreign.status in (403, 404, 422), f"{name}: {foreign_error}"
        if op.names_a_person:
            # The same request from an admin succeeds: the refusal above was about who asked.
            control = await client.request(
                op.method, op.url(str(clinic.patient_b.id)), json=body, headers=admin
            )
            assert control.status < 400, f"{name}: {await control.text()}"
        checked.append(name)
    assert "GET /api/v1/patients/{patient_id}" in checked
    assert "PATCH /api/v1/users/{user_id}" in checked
    me = await client.get("/api/v1/me", headers=patient)
    assert (await me.json())["user"]["id"] == str(clinic.patient_a.id)


async def test_missing_and_foreign_answer_the_same(client: TestClient, clinic: Clinic) -> None:
    _, operations = await _operations_with_ids(client)
    for person in (clinic.patient_a, clinic.therapist_a):
        headers = await _bearer(client, person)
        for op in operations:
            if op.method != "GET":
                continue
            foreign = await client.get(_target(op, clinic, False), headers=headers)
            missing = await client.get(_target(op, clinic, True), headers=headers)
            if foreign.status == 200:
                continue  # visible to this person (a therapist's own availability, say)
            assert foreign.status == missing.status, f"{op.path}: {await foreign.text()}"
            foreign_error = (await foreign.json())["error"]
            missing_error = (await missing.json())["error"]
            assert (foreign_error["code"], foreign_error["message"]) == (
                missing_error["code"],
                missing_error["message"],
            ), op.path


async def test_therapist_sees_own_patient_but_not_another_therapists(
    client: TestClient, clinic: Clinic
) -> None:
    _, operations = await _operations_with_ids(client)
    patient_reads = [
        op for op in operations if op.method == "GET" and op.parameters == ("patient_id",)
    ]
    assert patient_reads
    therapist = await _bearer(client, clinic.therapist_a)
    for op in patient_reads:
        own = await client.get(op.url(str(clinic.patient_a.id)), headers=therapist)
        assert own.status == 200, f"{op.path}: {await own.text()}"
        other = await client.get(op.url(str(clinic.patient_b.id)), headers=therapist)
        await assert_error_shape(other, 404, "not_found")
    listed = await (await client.get("/api/v1/patients", headers=therapist)).json()
    assert [p["id"] for p in listed["items"]] == [str(clinic.patient_a.id)]


async def test_patient_reads_own_record(client: TestClient, clinic: Clinic) -> None:
    patient = await _bearer(client, clinic.patient_a)
    own = await client.get(f"/api/v1/patients/{clinic.patient_a.id}", headers=patient)
    assert own.status == 200
    team = await (
        await client.get(f"/api/v1/patients/{clinic.patient_a.id}/care-team", headers=patient)
    ).json()
    assert [t["id"] for t in team["items"]] == [str(clinic.therapist_a.id)]
    listed = await (await client.get("/api/v1/patients", headers=patient)).json()
    assert [p["id"] for p in listed["items"]] == [str(clinic.patient_a.id)]


async def test_admin_reads_any_patient(client: TestClient, clinic: Clinic) -> None:
    _, operations = await _operations_with_ids(client)
    admin = await _bearer(client, clinic.admin)
    for op in operations:
        if op.method == "GET" and op.names_a_person:
            for patient in (clinic.patient_a, clinic.patient_b):
                response = await client.get(op.url(str(patient.id)), headers=admin)
                assert response.status == 200, f"{op.path}: {await response.text()}"


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", "%27%20OR%201%3D1"]
)
async def test_malformed_id_in_the_path_is_404(
    client: TestClient, clinic: Clinic, bad: str
) -> None:
    _, operations = await _operations_with_ids(client)
    admin = await _bearer(client, clinic.admin)
    for op in operations:
        if op.method == "GET":
            response = await client.get(op.url(bad), headers=admin)
            await assert_error_shape(response, 404)


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/audit"])
async def test_admin_lists_are_403_for_other_roles(
    client: TestClient, clinic: Clinic, path: str
) -> None:
    for person in (clinic.patient_a, clinic.therapist_a):
        headers = await _bearer(client, person)
        response = await client.get(path, headers=headers)
        await assert_error_shape(response, 403, "permission_denied")
    admin = await _bearer(client, clinic.admin)
    assert (await client.get(path, headers=admin)).status == 200


async def test_non_admin_cannot_create_accounts(client: TestClient, clinic: Clinic) -> None:
    therapist = await _bearer(client, clinic.therapist_a)
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "new-admin@example.test",
            "display_name": "Sneaky",
            "role": "admin",
            "password": "long enough pass",
        },
        headers=therapist,
    )
    await assert_error_shape(response, 403, "permission_denied")


async def test_id_endpoints_need_a_session(client: TestClient, clinic: Clinic) -> None:
    _, operations = await _operations_with_ids(client)
    for op in operations:
        response = await client.request(op.method, op.url(str(clinic.patient_b.id)), json={})
        await assert_error_shape(response, 401)
