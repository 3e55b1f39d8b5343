"""Deactivating an account ends its sessions at once and keeps it signed out."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape


async def bearer(client: TestClient, person: Person) -> dict[str, str]:
    """Bearer headers, with the cookie the login set forgotten (a non-browser client)."""
    headers = await login(client, person)
    client.session.cookie_jar.clear()
    return headers


async def test_deactivated_patient_token_stops_working_at_once(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    patient_headers = await bearer(client, patient)
    admin_headers = await bearer(client, admin)
    assert (await client.get("/api/v1/me", headers=patient_headers)).status == 200

    response = await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin_headers
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["is_active"] is False

    me = await client.get("/api/v1/me", headers=patient_headers)
    await assert_error_shape(me, 401, "invalid_token")
    own = await client.get(f"/api/v1/patients/{patient.id}", headers=patient_headers)
    assert own.status == 401


async def test_deactivated_patient_cannot_sign_in(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    admin_headers = await bearer(client, admin)
    response = await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin_headers
    )
    assert response.status == 200
    attempt = await client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    await assert_error_shape(attempt, 401, "invalid_credentials")
    # Reactivation lets them back in.
    response = await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": True}, headers=admin_headers
    )
    assert response.status == 200
    assert (
        await client.post(
            "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
        )
    ).status == 200


async def test_deactivation_does_not_touch_other_sessions(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    admin_headers = await bearer(client, admin)
    other_headers = await bearer(client, other)
    await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin_headers
    )
    assert (await client.get("/api/v1/me", headers=other_headers)).status == 200
    assert (await client.get("/api/v1/me", headers=admin_headers)).status == 200


async def test_admin_cannot_deactivate_themselves(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    headers = await bearer(client, admin)
    response = await client.patch(
        f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers
    )
    await assert_error_shape(response, 409, "self_deactivation")
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status == 200
    assert (await me.json())["user"]["is_active"] is True
