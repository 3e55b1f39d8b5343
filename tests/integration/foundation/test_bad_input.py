"""Bad input is answered 4xx in the one error shape, never 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from tests.conftest import People, base_settings, login
from tests.integration.foundation.helpers import assert_error_shape

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
