"""CSRF protection of state-changing browser requests."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from tests.conftest import People


async def _cookie_login(client: TestClient, email: str, password: str) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_cookie_session_post_without_token_is_refused(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    await _cookie_login(client, admin.email, admin.password)
    response = await client.patch(f"/api/v1/users/{patient.id}", json={"display_name": "Changed"})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "csrf_failed"
    # Nothing changed.
    read = await client.get(f"/api/v1/users/{patient.id}")
    assert (await read.json())["display_name"] != "Changed"


async def test_cookie_session_post_with_token_is_accepted(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    csrf = await _cookie_login(client, admin.email, admin.password)
    response = await client.patch(
        f"/api/v1/users/{patient.id}",
        json={"display_name": "Changed"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 200
    assert (await response.json())["display_name"] == "Changed"


async def test_wrong_token_is_refused(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    await _cookie_login(client, admin.email, admin.password)
    response = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "guessed"})
    assert response.status == 403


async def test_bearer_requests_need_no_csrf_token(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": admin.password}
    )
    token = (await login.json())["token"]
    client.session.cookie_jar.clear()
    response = await client.patch(
        f"/api/v1/users/{patient.id}",
        json={"display_name": "Via token"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 200


async def test_foreign_origin_is_refused_even_with_a_token(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    csrf = await _cookie_login(client, admin.email, admin.password)
    response = await client.post(
        "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    )
    assert response.status == 403
    assert (await client.get("/api/v1/me")).status == 200  # still signed in


async def test_login_form_needs_the_double_submit_token(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    # A forged form post with no token cookie/field.
    forged = await client.post(
        "/login", data={"email": patient.email, "password": patient.password}, allow_redirects=False
    )
    assert forged.status == 403
    # The real form: GET sets the cookie and embeds the same token.
    page = await client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert match is not None
    response = await client.post(
        "/login",
        data={
            "email": patient.email,
            "password": patient.password,
            "csrf_token": match.group(1),
            "next": "/",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"
    assert (await client.get("/api/v1/me")).status == 200


async def test_login_form_does_not_redirect_off_site(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token is not None
    response = await client.post(
        "/login",
        data={
            "email": patient.email,
            "password": patient.password,
            "csrf_token": token.group(1),
            "next": "//evil.example/x",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"
