"""Liveness and readiness probes, metrics, and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.config import Settings
from telehealth.error_codes import DESCRIPTIONS, ErrorCode
from telehealth.http.api import PREFIX
from tests.conftest import People, base_settings, login
from tests.services import tcp_reachable


async def test_healthz(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_readyz_when_the_database_answers(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


def parse_networks(raw: str) -> Any:
    """TELEHEALTH_METRICS_ALLOW as the settings read it."""
    return Settings.from_env({"TELEHEALTH_METRICS_ALLOW": raw}).metrics_allow


def _closed_port() -> int:
    for port in (1, 9, 47):
        if not tcp_reachable("127.0.0.1", port, timeout=0.2):
            return port
    pytest.fail("no closed local port found")


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
async def test_readyz_is_503_when_the_database_is_unreachable(
    aiohttp_client: Any, tmp_path: Path, engine: str
) -> None:
    if engine == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/telehealth"
    else:
        # A directory where the database file should be: SQLite cannot open it.
        (tmp_path / "not-a-file.db").mkdir()
        url = f"sqlite+aiosqlite:///{tmp_path / 'not-a-file.db'}"
    client: TestClient = await aiohttp_client(create_app(base_settings(tmp_path, url)))
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    assert "password" not in str(body).lower()
    # Liveness does not depend on the database.
    assert (await client.get("/healthz")).status == 200


async def test_metrics_count_requests_by_route_template(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    assert (await client.get(f"/api/v1/patients/{patient.id}", headers=headers)).status == 200
    assert (await client.get("/no-such-page")).status == 404
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    lines = [
        line for line in text.splitlines() if line.startswith("telehealth_http_requests_total{")
    ]
    assert any(
        'route="/api/v1/patients/{patient_id}"' in line
        and 'status="200"' in line
        and 'method="GET"' in line
        for line in lines
    ), lines
    assert any('route="/api/v1/auth/login"' in line and 'method="POST"' in line for line in lines)
    assert any('status="404"' in line for line in lines)
    # Ids never become label values.
    assert str(patient.id) not in text
    assert "telehealth_http_request_duration_seconds_bucket" in text


async def test_metrics_are_not_found_outside_the_allowed_range(
    aiohttp_client: Any, tmp_path: Path, database_url: str
) -> None:
    # The test client connects from 127.0.0.1, which this allow list leaves out.
    settings = base_settings(tmp_path, database_url, metrics_allow=parse_networks("10.0.0.0/8"))
    client: TestClient = await aiohttp_client(create_app(settings))
    response = await client.get("/metrics")
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "telehealth_http_requests" not in await response.text()
    nobody = base_settings(tmp_path, database_url, metrics_allow=())
    client = await aiohttp_client(create_app(nobody))
    assert (await client.get("/metrics")).status == 404


async def test_metrics_behind_the_proxy_go_by_the_forwarded_address(
    aiohttp_client: Any, tmp_path: Path, database_url: str
) -> None:
    settings = base_settings(
        tmp_path,
        database_url,
        trust_forwarded_for=True,
        metrics_allow=parse_networks("10.1.0.0/16,::1"),
    )
    client: TestClient = await aiohttp_client(create_app(settings))
    public = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert public.status == 404
    spoofed = await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"})
    assert spoofed.status == 404  # only the entry the proxy appended counts
    scraper = await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert scraper.status == 200
    assert "telehealth_http_requests" in await scraper.text()
    mapped = await client.get("/metrics", headers={"X-Forwarded-For": "::ffff:10.1.0.1"})
    assert mapped.status == 200


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external reference {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved {ref}"
        node = node[part]
    return node


async def test_openapi_document_is_complete_and_self_contained(client: TestClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    refs = _refs(document)
    assert refs, "the document uses no $ref at all"
    for ref in refs:
        assert isinstance(_resolve(document, ref), dict)

    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    registered = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(PREFIX + "/")
        and route.method not in ("HEAD", "OPTIONS")
        and route.resource.canonical != PREFIX + "/openapi.json"
    }
    assert registered, "no API routes registered"
    assert registered - documented == set()
    assert documented - registered == set()

    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "default" in op["responses"], f"{method} {path} documents no error answer"
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert declared == in_path, f"{method} {path}"


async def test_openapi_lists_every_error_code_with_its_meaning(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    detail = _resolve(
        document, document["components"]["schemas"]["ErrorResponse"]["properties"]["error"]["$ref"]
    )
    code = detail["properties"]["code"]
    listed = _resolve(document, code["$ref"]) if "$ref" in code else code
    assert set(listed["enum"]) == {c.value for c in ErrorCode}
    meanings = code.get("description", "") + listed.get("description", "")
    for each in ErrorCode:
        assert f"`{each.value}`: {DESCRIPTIONS[each]}" in meanings
    # An operation's own codes are among them.
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for own in op["responses"]["default"].get("x-error-codes", []):
                assert own in listed["enum"], f"{method} {path}: {own}"


def test_every_error_code_has_a_meaning_and_no_code_is_spelled_inline() -> None:
    assert DESCRIPTIONS.keys() == set(ErrorCode)
    # The type checker refuses a string where DomainError takes an ErrorCode; this catches the
    # one way around it, a literal in a keyword argument.
    root = Path(__file__).resolve().parents[3] / "telehealth"
    inline = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r'\bcode="[a-z_]+"', line)
    ]
    assert inline == []


async def test_openapi_marks_which_operations_need_sign_in(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    login_op = document["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login_op
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["security"]
