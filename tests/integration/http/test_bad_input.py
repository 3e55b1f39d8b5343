"""Bad input is answered 4xx in the one error shape, never 500."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from tests.conftest import People, base_settings, login
from tests.integration.helpers import assert_error_shape

LOGIN = "/api/v1/auth/login"
JSON = {"Content-Type": "application/json"}


async def test_malformed_json_is_400(client: TestClient) -> None:
    response = await client.post(LOGIN, data=b'{"email": "a@b.test", "password": ', headers=JSON)
    await assert_error_shape(response, 400, "malformed_json")


async def test_wrong_type_is_422_naming_the_field(client: TestClient) -> None:
    response = await client.post(LOGIN, json={"email": 5, "password": "long enough pass"})
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["email"]


async def test_numeric_string_is_not_coerced(client: TestClient) -> None:
    response = await client.post(LOGIN, json={"email": "a@b.test", "password": 1234567890})
    error = await assert_error_shape(response, 422)
    assert [d["field"] for d in error["details"]] == ["password"]


async def test_unknown_field_is_422(client: TestClient) -> None:
    response = await client.post(
        LOGIN, json={"email": "a@b.test", "password": "x", "is_admin": True}
    )
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["is_admin"]


async def test_missing_field_is_422(client: TestClient) -> None:
    response = await client.post(LOGIN, json={"email": "a@b.test"})
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["password"]


@pytest.mark.parametrize("body", [b"", b"   \n"])
async def test_empty_body_is_422(client: TestClient, body: bytes) -> None:
    response = await client.post(LOGIN, data=body, headers=JSON)
    await assert_error_shape(response, 422, "invalid_input")


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "42", "true"])
async def test_json_that_is_not_an_object_is_422(client: TestClient, body: str) -> None:
    response = await client.post(LOGIN, data=body, headers=JSON)
    await assert_error_shape(response, 422, "invalid_input")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/json-patch+json", None]
)
async def test_wrong_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"email": "a@b.test", "password": "long enough pass"}).encode()
    response = await client.post(LOGIN, data=body, headers=headers)
    await assert_error_shape(response, 415, "unsupported_media_type")


async def test_form_post_to_the_api_is_refused_in_the_error_shape(client: TestClient) -> None:
    # A form is what another site can post without a preflight: the CSRF check answers first.
    response = await client.post(LOGIN, data={"email": "a@b.test", "password": "long enough pass"})
    await assert_error_shape(response, 403, "csrf_failed")


async def test_oversized_body_is_413(
    aiohttp_client: Any, tmp_path: Path, database_url: str, clock: ManualClock
) -> None:
    app = create_app(base_settings(tmp_path, database_url, max_body_bytes=1024), clock)
    client: TestClient = await aiohttp_client(app)
    body = json.dumps({"email": "a@b.test", "password": "p" * 2048}).encode()
    response = await client.post(LOGIN, data=body, headers=JSON)
    await assert_error_shape(response, 413, "payload_too_large")
    # Just under the limit is read and validated normally.
    small = json.dumps({"email": "a@b.test", "password": "p" * 250}).encode()
    assert len(small) <= 1024
    assert (await client.post(LOGIN, data=small, headers=JSON)).status == 401


async def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    await assert_error_shape(response, 404, "not_found")


async def test_unknown_page_is_an_html_404(client: TestClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status == 404
    assert response.content_type == "text/html"
    page = await response.text()
    assert "We could not find that page" in page
    assert response.headers["X-Request-ID"] in page


async def test_wrong_method_is_405(client: TestClient) -> None:
    response = await client.put(LOGIN, json={})
    await assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


async def test_bad_query_parameter_is_422(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    for query in ("limit=abc", "limit=0", "role=wizard", "offset=-1", "color=red"):
        response = await client.get(f"/api/v1/users?{query}", headers=headers)
        await assert_error_shape(response, 422, "invalid_input")


# --- properties ----------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_login_like = st.fixed_dictionaries({}, optional={"email": _json_values, "password": _json_values})
_person_like = st.fixed_dictionaries(
    {},
    optional={
        name: _json_values | st.text(max_size=300)
        for name in (
            "email",
            "display_name",
            "role",
            "password",
            "time_zone",
            "phone",
            "date_of_birth",
        )
    },
)


def _body(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


async def _assert_handled(
    client: TestClient, path: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await client.post(path, data=body, headers={**JSON, **headers})
    assert response.status < 500, await response.text()
    if response.status >= 400:
        await assert_error_shape(response)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.one_of(_json_values, _login_like, st.text(max_size=80)))
async def test_login_never_fails_with_500(client: TestClient, payload: Any) -> None:
    await _assert_handled(client, LOGIN, _body(payload), {})


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.one_of(_json_values, _person_like, st.text(max_size=80)))
async def test_create_user_never_fails_with_500(
    client: TestClient, admin_headers: dict[str, str], payload: Any
) -> None:
    await _assert_handled(client, "/api/v1/users", _body(payload), admin_headers)


@pytest.fixture
async def admin_headers(client: TestClient, people: People) -> dict[str, str]:
    """A signed-in admin (bearer only)."""
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    client.session.cookie_jar.clear()
    return headers


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-03-02T14:00:00",  # no zone: ambiguous, not an instant
        "until=0.5",  # a number is not an ISO 8601 instant
        "until=2026-03-02",
        "before_seq=99999999999999999999",
        "before_seq=0",
        "since=yesterday",
        "outcome=maybe",
        "patient_id=not-a-uuid",
    ],
)
async def test_bad_audit_filter_is_422(client: TestClient, people: People, query: str) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    response = await client.get(f"/api/v1/audit?{query}", headers=headers)
    await assert_error_shape(response, 422, "invalid_input")


async def test_aware_audit_filter_is_accepted(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    response = await client.get(
        "/api/v1/audit?since=2026-03-02T09:00:00-05:00&until=2026-03-03T00:00:00Z", headers=headers
    )
    assert response.status == 200
    assert any(item["action"] == "login.success" for item in (await response.json())["items"])


async def test_huge_paging_numbers_are_422(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    response = await client.get("/api/v1/users?offset=99999999999999999999", headers=headers)
    await assert_error_shape(response, 422, "invalid_input")
    largest = await client.get(f"/api/v1/users?offset={2**63 - 1}", headers=headers)
    assert largest.status == 200
    assert (await largest.json())["items"] == []
    oldest = await client.get(f"/api/v1/audit?before_seq={2**63 - 1}", headers=headers)
    assert oldest.status == 200


# --- hostile bodies, text, headers and zones -----------------------------------------------------

BAD_FORMS = [
    pytest.param("multipart/form-data; boundary=", b"--\r\n", id="empty-boundary"),
    pytest.param("multipart/form-data", b"--x\r\n\r\nv\r\n--x--\r\n", id="no-boundary"),
    pytest.param("multipart/form-data; boundary=abc", b"no boundary in here", id="boundary-absent"),
    pytest.param(
        "application/x-www-form-urlencoded", b"email=%ff%fe&password=\xff\xfe", id="not-utf8"
    ),
    pytest.param("application/x-www-form-urlencoded; charset=nope", b"a=b", id="unknown-charset"),
]


@pytest.mark.parametrize(("content_type", "body"), BAD_FORMS)
async def test_malformed_form_on_the_api_is_400_invalid_body(
    client: TestClient, content_type: str, body: bytes
) -> None:
    response = await client.post(LOGIN, data=body, headers={"Content-Type": content_type})
    await assert_error_shape(response, 400, "invalid_body")


@pytest.mark.parametrize(("content_type", "body"), BAD_FORMS)
async def test_malformed_form_on_a_page_is_the_400_page(
    client: TestClient, content_type: str, body: bytes
) -> None:
    response = await client.post("/login", data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    assert response.content_type == "text/html"
    page = await response.text()
    assert "The form could not be read" in page
    assert response.headers["X-Request-ID"] in page


async def test_malformed_form_from_a_signed_in_browser_is_400(
    client: TestClient, people: People
) -> None:
    """The CSRF check of a cookie session reads the form first: the same 400, not a 500."""
    patient = await people.make(Role.PATIENT)
    await login(client, patient)  # keeps the session cookie in the jar
    for path in ("/logout", "/api/v1/auth/logout", "/book"):
        response = await client.post(
            path,
            data=b"--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary="},
            allow_redirects=False,
        )
        assert response.status == 400, path


async def test_a_page_form_with_nul_is_422(client: TestClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token is not None
    response = await client.post(
        "/login",
        data={"email": "a\x00@b.test", "password": "long enough pass", "csrf_token": token[1]},
    )
    assert response.status == 422
    assert response.content_type == "text/html"


@pytest.mark.parametrize(
    "email", ["a\x00@example.test", "\x00", "a@example.test\x1b", "a\u0085b@example.test"]
)
async def test_control_characters_in_the_login_email_are_422(
    client: TestClient, email: str
) -> None:
    # On PostgreSQL a NUL would otherwise reach the query and fail there (a 500).
    response = await client.post(LOGIN, json={"email": email, "password": "long enough pass"})
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["email"]


async def test_lone_surrogates_in_json_are_refused(client: TestClient) -> None:
    escaped = b'{"email": "a\\ud800@b.test", "password": "long enough pass"}'
    raw = '{"email": "a\ud800@b.test", "password": "x"}'.encode("utf-8", "surrogatepass")
    for body in (escaped, raw):
        response = await client.post(LOGIN, data=body, headers=JSON)
        assert response.status in (400, 422), await response.text()
        await assert_error_shape(response)


async def test_nul_in_names_reasons_and_filters_is_422(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    new = {
        "email": "new@example.test",
        "display_name": "New\x00Person",
        "role": "patient",
        "password": "long enough password",
    }
    response = await client.post("/api/v1/users", json=new, headers=admin_headers)
    error = await assert_error_shape(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["display_name"]
    closure = {"day": "2026-12-24", "reason": "Holiday\x00"}
    response = await client.post("/api/v1/clinic-closures", json=closure, headers=admin_headers)
    await assert_error_shape(response, 422, "invalid_input")
    for query in ("action=login%00", "action=%1B%5B31m"):
        response = await client.get(f"/api/v1/audit?{query}", headers=admin_headers)
        assert response.status == 422, query
    slots = "type=screening&modality=virtual%00"
    response = await client.get(f"/api/v1/slots?{slots}", headers=admin_headers)
    await assert_error_shape(response, 422, "invalid_input")


async def test_multi_line_text_keeps_line_breaks(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    closure = {"day": "2026-12-24", "reason": "Holiday:\n\tclinic closed\r\n"}
    response = await client.post("/api/v1/clinic-closures", json=closure, headers=admin_headers)
    assert response.status == 201, await response.text()
    assert (await response.json())["reason"] == "Holiday:\n\tclinic closed"


@pytest.mark.parametrize("zone", ["America", "Etc", "", "../../etc/passwd", "UTC\x00", "localtime"])
async def test_a_zone_that_is_not_an_iana_name_is_422_everywhere(
    client: TestClient, people: People, admin_headers: dict[str, str], zone: str
) -> None:
    therapist = await people.make(Role.THERAPIST)
    person = {
        "email": "z@example.test",
        "display_name": "Zoned",
        "role": "patient",
        "password": "long enough password",
        "time_zone": zone,
    }
    answers = [
        await client.post("/api/v1/users", json=person, headers=admin_headers),
        await client.patch(
            f"/api/v1/users/{therapist.id}", json={"time_zone": zone}, headers=admin_headers
        ),
        await client.put(
            f"/api/v1/therapists/{therapist.id}/availability",
            json={"time_zone": zone, "weekly": []},
            headers=admin_headers,
        ),
        await client.get(
            "/api/v1/slots",
            params={"type": "screening", "modality": "virtual", "zone": zone},
            headers=admin_headers,
        ),
    ]
    for response in answers:
        await assert_error_shape(response, 422, "invalid_input")


async def test_a_page_form_with_a_folder_for_a_zone_is_422(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await login(client, admin)  # the API sign-in also leaves the session cookie
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', await (await client.get("/admin/people/new")).text()
    )
    assert token is not None
    for zone in ("America", "Etc"):
        response = await client.post(
            "/admin/people",
            data={
                "email": f"{zone.lower()}@example.test",
                "display_name": "Zoned",
                "role": "patient",
                "password": "long enough password",
                "time_zone": zone,
                "csrf_token": token[1],
            },
        )
        assert response.status == 422, zone
        assert "unknown time zone" in await response.text()


async def test_query_times_are_iso_8601(client: TestClient, admin_headers: dict[str, str]) -> None:
    # Lax parsing would read these as Unix timestamps.
    for query in ("until=0.5", "since=1700000000", "until=1e3"):
        response = await client.get(f"/api/v1/audit?{query}", headers=admin_headers)
        await assert_error_shape(response, 422, "invalid_input")
    report = await client.get(
        "/api/v1/reports/techniques?start=0&end=2026-03-01", headers=admin_headers
    )
    await assert_error_shape(report, 422, "invalid_input")


async def _raw(client: TestClient, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (no client library would send these headers) and read the answer."""
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def _request(method: str, path: str, headers: bytes = b"", body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".encode()
        + headers
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@pytest.mark.parametrize(
    "header",
    [
        b"Cookie: th_session=\xff\xfe\xfd\r\n",
        b"Authorization: Bearer \xff\xfe\xfd\r\n",
        b"Cookie: th_session=" + b"a" * 43 + b"\xc3\r\n",
    ],
)
async def test_tokens_that_are_not_utf8_are_not_signed_in(
    client: TestClient, header: bytes
) -> None:
    status, answer = await _raw(client, _request("GET", "/api/v1/me", header))
    assert status == 401, answer


@pytest.mark.parametrize(
    "header", [b"Cookie: th_session=a\x00b\r\n", b"Idempotency-Key: a\x00b\r\n", b"X-A: \x01\r\n"]
)
async def test_control_characters_in_headers_are_400(client: TestClient, header: bytes) -> None:
    status, answer = await _raw(client, _request("GET", "/api/v1/me", header))
    assert status == 400, answer


async def test_a_user_agent_that_is_not_utf8_still_signs_in(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    body = json.dumps({"email": patient.email, "password": patient.password}).encode()
    headers = b"User-Agent: Browser \xff\xfe\r\nContent-Type: application/json\r\n"
    status, answer = await _raw(client, _request("POST", LOGIN, headers, body))
    assert status == 200, answer


async def test_a_csrf_token_that_is_not_utf8_is_refused(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    token = headers["Authorization"].removeprefix("Bearer ")
    cookie = f"Cookie: th_session={token}\r\nX-CSRF-Token: \xff\xfe\r\n".encode("latin-1")
    status, answer = await _raw(client, _request("POST", "/api/v1/auth/logout", cookie))
    assert status == 403, answer


async def test_idempotency_key_that_is_not_ascii_is_422(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    token = admin_headers["Authorization"].encode()
    body = b'{"type": "screening", "modality": "virtual", "start": "2026-03-03T15:00:00Z"}'
    headers = (
        b"Authorization: " + token + b"\r\nIdempotency-Key: k\xff\xfe\r\n"
        b"Content-Type: application/json\r\n"
    )
    status, answer = await _raw(client, _request("POST", "/api/v1/appointments", headers, body))
    assert status == 422, answer


@pytest.mark.parametrize(
    "path", ["/api/v1/patients/%00", "/api/v1/patients/%ED%A0%80", "/api/v1/clinic-closures/%00"]
)
async def test_hostile_path_parameters_are_404(
    client: TestClient, admin_headers: dict[str, str], path: str
) -> None:
    method = "DELETE" if "closures" in path else "GET"
    response = await client.request(method, URL(path, encoded=True), headers=admin_headers)
    await assert_error_shape(response, 404, "not_found")
