"""Security headers on every answer; https turns on HSTS and the __Host- Secure cookie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from tests.conftest import People, base_settings, login


def assert_security_headers(response: ClientResponse, *, no_store: bool = True) -> None:
    """The headers every answer carries."""
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Paths carry ids: they must never travel to another site in a Referer.
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
    if no_store:
        assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-ID"]


async def _answers(client: TestClient, people: People) -> dict[str, ClientResponse]:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    client.session.cookie_jar.clear()
    return {
        "login page": await client.get("/login"),
        "home redirect": await client.get("/", allow_redirects=False),
        "api": await client.get("/api/v1/me", headers=headers),
        "api 401": await client.get("/api/v1/me"),
        "api 404": await client.get("/api/v1/nothing-here"),
        "api 405": await client.delete("/api/v1/me"),
        "api 422": await client.post("/api/v1/auth/login", json={}),
        "page 404": await client.get("/nothing-here"),
        "healthz": await client.get("/healthz"),
        "openapi": await client.get("/api/v1/openapi.json"),
        "logout 204": await client.post("/api/v1/auth/logout", headers=headers),
    }


async def test_every_answer_carries_the_security_headers(
    client: TestClient, people: People
) -> None:
    answers = await _answers(client, people)
    statuses = {name: r.status for name, r in answers.items()}
    assert statuses == {
        "login page": 200,
        "home redirect": 303,
        "api": 200,
        "api 401": 401,
        "api 404": 404,
        "api 405": 405,
        "api 422": 422,
        "page 404": 404,
        "healthz": 200,
        "openapi": 200,
        "logout 204": 204,
    }
    for name, response in answers.items():
        try:
            assert_security_headers(response)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name}: {exc!r} in {dict(response.headers)}") from None


async def test_no_hsts_over_plain_http(client: TestClient) -> None:
    response = await client.get("/login")
    assert "Strict-Transport-Security" not in response.headers


async def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345"})
    assert given.headers["X-Request-ID"] == "proxy-abc-12345"
    error = await client.get("/api/v1/me", headers={"X-Request-ID": "proxy-def-67890"})
    assert error.headers["X-Request-ID"] == "proxy-def-67890"
    assert (await error.json())["error"]["request_id"] == "proxy-def-67890"
    # An id that could inject into logs or headers is replaced by a fresh one.
    bad = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bad.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(bad.headers["X-Request-ID"]) == 16
    first = (await client.get("/healthz")).headers["X-Request-ID"]
    second = (await client.get("/healthz")).headers["X-Request-ID"]
    assert first != second


@pytest.fixture
async def https_client(
    aiohttp_client: Any, tmp_path: Path, database_url: str, clock: ManualClock
) -> TestClient:
    """The app configured for https (behind a TLS proxy)."""
    app = create_app(
        base_settings(tmp_path, database_url, public_url="https://clinic.example"), clock
    )
    client: TestClient = await aiohttp_client(app)
    return client


async def test_https_turns_on_hsts_everywhere(https_client: TestClient) -> None:
    for path in ("/login", "/api/v1/me", "/nothing-here", "/healthz"):
        response = await https_client.get(path)
        hsts = response.headers["Strict-Transport-Security"]
        assert "max-age=" in hsts
        assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31_536_000
        assert_security_headers(response)


async def test_https_session_cookie_is_host_prefixed_and_secure(https_client: TestClient) -> None:
    from telehealth.http.keys import SERVICES
    from tests.conftest import People as PeopleFactory

    people = PeopleFactory(https_client.app[SERVICES])
    patient = await people.make(Role.PATIENT)
    response = await https_client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    assert response.status == 200
    cookies = response.headers.getall("Set-Cookie")
    session = [c for c in cookies if "th_session=" in c]
    assert len(session) == 1
    cookie = session[0]
    assert cookie.startswith("__Host-th_session=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)
    # The trusted-device cookie is host-prefixed and Secure like the session's.
    device = [c for c in cookies if "th_device=" in c]
    assert len(device) == 1
    assert device[0].startswith("__Host-th_device=")
    device_attributes = [part.strip().lower() for part in device[0].split(";")]
    assert {"secure", "httponly", "path=/", "samesite=strict"} <= set(device_attributes)
    # The anonymous form token cookie is Secure too.
    page = await https_client.get("/login")
    csrf_cookie = [c for c in page.headers.getall("Set-Cookie", []) if c.startswith("th_csrf=")]
    assert csrf_cookie and "secure" in csrf_cookie[0].lower()


async def test_static_files_may_be_cached_but_keep_the_other_headers(client: TestClient) -> None:
    from telehealth.resources import web_dir

    name = next(p.name for p in (web_dir() / "static").iterdir() if p.is_file())
    response = await client.get(f"/static/{name}")
    assert response.status == 200
    assert "no-store" not in response.headers["Cache-Control"]
    assert_security_headers(response, no_store=False)
