"""Sign-in, sign-out, session expiry and rotation, through the real HTTP API."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from tests.conftest import People, login


async def test_login_returns_bearer_token_and_secure_cookie(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    response = await client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    assert response.status == 200
    body = await response.json()
    assert body["token_type"] == "bearer"
    assert len(body["token"]) >= 43  # 32 random bytes, base64url
    assert body["user"]["id"] == str(patient.id)
    assert "password_hash" not in body["user"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("th_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status == 200
    assert (await me.json())["user"]["email"] == patient.email


async def test_cookie_alone_authenticates(client: TestClient, people: People) -> None:
    therapist = await people.make(Role.THERAPIST)
    await login(client, therapist)  # the client's cookie jar keeps th_session
    me = await client.get("/api/v1/me")
    assert me.status == 200
    assert (await me.json())["user"]["role"] == "therapist"


async def test_wrong_password_and_unknown_email_answer_the_same(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "not the password"}
    )
    assert wrong.status == unknown.status == 401
    wrong_error = (await wrong.json())["error"]
    unknown_error = (await unknown.json())["error"]
    assert wrong_error["code"] == unknown_error["code"] == "invalid_credentials"
    assert wrong_error["message"] == unknown_error["message"]


async def test_logout_ends_the_session(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status == 204
    assert (await client.get("/api/v1/me", headers=headers)).status == 401


async def test_idle_timeout(client: TestClient, people: People, clock: ManualClock) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    clock.advance(timedelta(minutes=14))
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    # Activity at 14 min restarted the idle clock: 14 more minutes is still fine.
    clock.advance(timedelta(minutes=14))
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    clock.advance(timedelta(minutes=15))
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "invalid_token"


async def test_absolute_lifetime_ends_even_an_active_session(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    for _ in range(12 * 6 - 1):  # a request every 10 minutes for just under 12 hours
        clock.advance(timedelta(minutes=10))
        assert (await client.get("/api/v1/me", headers=headers)).status == 200
    clock.advance(timedelta(minutes=10))
    assert (await client.get("/api/v1/me", headers=headers)).status == 401


async def test_each_login_rotates_the_token_and_ends_the_previous_session(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    first = await client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    first_body = await first.json()
    first_token = first_body["token"]
    # Same browser (cookie jar holds the first session) signs in again, with its CSRF token.
    second = await client.post(
        "/api/v1/auth/login",
        json={"email": patient.email, "password": patient.password},
        headers={"X-CSRF-Token": first_body["csrf_token"]},
    )
    second_token = (await second.json())["token"]
    assert first_token != second_token
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {first_token}"})
    ).status == 401
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {second_token}"})
    ).status == 200


async def test_forged_token_is_refused(client: TestClient) -> None:
    response = await client.get(
        "/api/v1/me", headers={"Authorization": "Bearer forged-token-value"}
    )
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "invalid_token"
