"""A browser that signed in before can still sign in while strangers keep the account locked."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import LoginThrottle, Role, User
from telehealth.accounts.rules import account_throttle_key
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape, csrf_from_page

LOGIN = "/api/v1/auth/login"
DEVICE = "th_device"


async def _signed_in_device(client: TestClient, person: Person) -> str:
    """Sign in once and keep only the device cookie that came with it (then sign out)."""
    client.session.cookie_jar.clear()
    response = await client.post(LOGIN, json={"email": person.email, "password": person.password})
    assert response.status == 200, await response.text()
    cookie = response.cookies[DEVICE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert int(cookie["max-age"]) == 90 * 24 * 3600
    client.session.cookie_jar.clear()
    return cookie.value


async def _attempt(
    client: TestClient, person: Person, password: str, device: str | None = None
) -> int:
    client.session.cookie_jar.clear()
    headers = {"Cookie": f"{DEVICE}={device}"} if device else {}
    response = await client.post(
        LOGIN, json={"email": person.email, "password": password}, headers=headers
    )
    return response.status


async def _lock_out(client: TestClient, person: Person) -> None:
    """A stranger, without the device, spends the account's five attempts."""
    for _ in range(5):
        assert await _attempt(client, person, "a stranger's guess") == 401
    assert await _attempt(client, person, person.password) == 429


async def test_the_owners_browser_signs_in_while_the_account_is_locked(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, patient)
    await _lock_out(client, patient)

    client.session.cookie_jar.clear()
    response = await client.post(
        LOGIN,
        json={"email": patient.email, "password": patient.password},
        headers={"Cookie": f"{DEVICE}={device}"},
    )
    assert response.status == 200, await response.text()
    # Each sign-in hands the browser a fresh device token in place of the one it showed.
    renewed = response.cookies[DEVICE].value
    assert renewed != device
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {(await response.json())['token']}"}
    )
    assert me.status == 200
    # The account stays locked for everyone else; the old token is spent.
    assert await _attempt(client, patient, patient.password) == 429
    assert await _attempt(client, patient, patient.password, device) == 429
    assert await _attempt(client, patient, patient.password, renewed) == 200
    async with services.sessions() as session:
        row = await session.get(LoginThrottle, account_throttle_key(patient.email))
        assert row is not None and row.failures == 5


async def test_a_device_has_its_own_limit(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, patient)
    for _ in range(5):
        assert await _attempt(client, patient, "wrong on my phone", device) == 401
    assert await _attempt(client, patient, patient.password, device) == 429
    # Guessing with a stolen device cookie did not lock the account for its other browsers.
    assert await _attempt(client, patient, patient.password) == 200


async def test_a_device_counts_only_for_its_own_account(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, other)
    await _lock_out(client, patient)
    assert await _attempt(client, patient, patient.password, device) == 429
    assert await _attempt(client, patient, patient.password, "made-up-device-token") == 429


async def test_deactivation_revokes_the_devices(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, patient)
    admin_headers = await login(client, admin)
    client.session.cookie_jar.clear()
    for active in (False, True):
        response = await client.patch(
            f"/api/v1/users/{patient.id}", json={"is_active": active}, headers=admin_headers
        )
        assert response.status == 200, await response.text()
    await _lock_out(client, patient)
    assert await _attempt(client, patient, patient.password, device) == 429


async def test_a_new_password_revokes_the_devices(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, patient)
    new_password = "a brand new password"
    # There is no password change screen yet: set the hash the way any future one would.
    async with services.sessions() as session:
        user = await session.scalar(select(User).where(User.id == patient.id))
        assert user is not None
        user.password_hash = await services.passwords.hash(new_password)
        await session.commit()
    renewed = Person(patient.user, new_password)
    await _lock_out(client, renewed)
    assert await _attempt(client, renewed, new_password, device) == 429


async def test_a_device_expires(client: TestClient, people: People, clock: ManualClock) -> None:
    patient = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, patient)
    clock.advance(timedelta(days=90))
    await _lock_out(client, patient)
    assert await _attempt(client, patient, patient.password, device) == 429


async def test_the_sign_in_form_sets_the_device_cookie_and_honours_it(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    client.session.cookie_jar.clear()
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={"email": patient.email, "password": patient.password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    device = response.cookies[DEVICE].value
    await _lock_out(client, patient)
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({DEVICE: device})
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={"email": patient.email, "password": patient.password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    # Signing out keeps the device cookie: it is what says "this browser signed in here before".
    signed_out = await client.post(
        "/logout",
        data={"csrf_token": await _session_csrf(client)},
        allow_redirects=False,
    )
    assert signed_out.status == 303
    assert DEVICE not in signed_out.cookies


async def _session_csrf(client: TestClient) -> str:
    me = await client.get("/api/v1/me")
    assert me.status == 200
    return str((await me.json())["csrf_token"])


async def test_locked_answers_are_the_same_with_and_without_a_foreign_device(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    device = await _signed_in_device(client, other)
    await _lock_out(client, patient)
    client.session.cookie_jar.clear()
    plain = await client.post(LOGIN, json={"email": patient.email, "password": "x" * 12})
    with_device = await client.post(
        LOGIN,
        json={"email": patient.email, "password": "x" * 12},
        headers={"Cookie": f"{DEVICE}={device}"},
    )
    plain_error = await assert_error_shape(plain, 429, "login_locked")
    device_error = await assert_error_shape(with_device, 429, "login_locked")
    assert plain_error["details"] == device_error["details"]
