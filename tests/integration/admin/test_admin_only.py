"""Admin-only endpoints answer a non-admin 403, as docs/security.md says. The doc and the code are
held together here: every operation the OpenAPI document marks "(admin)", and every /admin page,
asked by a patient and by a therapist, with valid input so that the role check is what answers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from tests.conftest import People, login
from tests.integration.helpers import assert_error_shape, csrf_from_page

SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
ADMIN_MARK = "(admin)"
_VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/users"): {
        "email": "new@example.test",
        "display_name": "New Person",
        "role": "patient",
        "password": "long enough password",
    },
    ("PATCH", "/api/v1/users/{user_id}"): {"display_name": "Renamed"},
    ("POST", "/api/v1/patients/{patient_id}/care-team"): {"therapist_id": str(uuid.uuid4())},
    ("POST", "/api/v1/catalog/extras"): {"kind": "conditions", "entry": {"id": "x"}},
    ("POST", "/api/v1/appointment-types"): {"key": "new-type", "name": "New"},
    ("PATCH", "/api/v1/appointment-types/{type_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/clinic-closures"): {"day": "2026-12-24", "reason": "Holiday"},
    ("PUT", "/api/v1/note-templates/{type_key}"): {"version": 0, "document": {}},
}
_RANGE = "?start=2026-01-01&end=2026-01-31"
_QUERIES = {"/api/v1/reports/techniques": _RANGE, "/api/v1/reports/techniques.csv": _RANGE}
_PAGE_FORMS: dict[str, dict[str, str]] = {
    "/admin/people": {
        "email": "new@example.test",
        "display_name": "New Person",
        "role": "patient",
        "password": "long enough password",
    },
    "/admin/people/{user_id}/active": {"active": "0"},
    "/admin/people/{user_id}/care-team": {"therapist_id": str(uuid.uuid4())},
    "/admin/calendar/book": {"type": "screening", "modality": "virtual", "day": "2026-03-03"},
    "/admin/closures": {"day": "2026-12-24", "reason": "Holiday"},
    "/admin/visit-types/{type_id}": {"name": "Renamed", "duration_minutes": "30"},
}


def _concrete(path: str, user_id: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "day":
            return "2026-12-24"
        return user_id if name in ("user_id", "patient_id") else str(uuid.uuid4())

    return re.sub(r"\{([a-z_]+)\}", value, path)


async def _admin_operations(client: TestClient) -> list[tuple[str, str]]:
    document = await (await client.get("/api/v1/openapi.json")).json()
    found = [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation["summary"].endswith(ADMIN_MARK)
    ]
    assert len(found) >= 12, found
    return found


def _admin_pages(client: TestClient) -> list[tuple[str, str]]:
    found = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/admin")
        and route.method in ("GET", "POST")
    }
    assert len(found) >= 8, found
    return sorted(found)


def test_the_security_doc_states_what_the_code_does() -> None:
    text = " ".join(SECURITY_DOC.read_text().split())
    assert "An admin-only endpoint answers a non-admin 403" in text
    assert "admin-only endpoint for a non-admin, answers 404" not in text


@pytest.mark.parametrize("role", [Role.PATIENT, Role.THERAPIST])
async def test_every_admin_operation_answers_a_non_admin_403(
    client: TestClient, people: People, role: Role
) -> None:
    person = await people.make(role)
    other = await people.make(Role.PATIENT)
    headers = await login(client, person)
    client.session.cookie_jar.clear()
    for method, path in await _admin_operations(client):
        # Another person's id and a made-up one: the same 403, which names no object.
        for user_id in (str(other.id), str(uuid.uuid4()), str(person.id)):
            url = _concrete(path, user_id) + _QUERIES.get(path, "")
            body = _VALID_BODIES.get((method, path))
            response = await client.request(method, url, headers=headers, json=body)
            await assert_error_shape(response, 403, "permission_denied")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.THERAPIST])
async def test_every_admin_page_answers_a_non_admin_403(
    client: TestClient, people: People, role: Role
) -> None:
    person = await people.make(role)
    other = await people.make(Role.PATIENT)
    await login(client, person)  # the API sign-in leaves the session cookie, as a browser has it
    token = await csrf_from_page(client, "/book")
    for method, path in _admin_pages(client):
        url = _concrete(path, str(other.id))
        form = {**_PAGE_FORMS.get(path, {}), "csrf_token": token} if method == "POST" else None
        response = await client.request(method, url, data=form, allow_redirects=False)
        assert response.status == 403, f"{method} {path}: {response.status}"
        assert response.content_type == "text/html"
        assert other.email not in await response.text()
