"""Login lockout per account and per client address, through the API and the sign-in form."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import LoginThrottle, Role
from telehealth.accounts.rules import account_throttle_key
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape, csrf_from_page

LOGIN = "/api/v1/auth/login"


async def _attempt(
    client: TestClient, email: str, password: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = await client.post(LOGIN, json={"email": email, "password": password})
    body = await response.json()
    return response.status, dict(response.headers), body


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    for _ in range(5):
        status, _, body = await _attempt(client, patient.email, "wrong password!")
        assert status == 401, body
    response = await client.post(LOGIN, json={"email": patient.email, "password": patient.password})
    error = await assert_error_shape(response, 429, "login_locked")
    assert response.headers["Retry-After"] == "900"  # the clock stands still: a full window
    assert error["details"] == {"retry_after": 900}
    assert "token" not in await response.text()
    # No session was opened by the locked attempt.
    assert (await client.get("/api/v1/me")).status == 401


async def test_four_failures_do_not_lock(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    for _ in range(4):
        status, _, _ = await _attempt(client, patient.email, "wrong password!")
        assert status == 401
    status, _, body = await _attempt(client, patient.email, patient.password)
    assert status == 200, body


async def test_success_resets_the_account_count(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    for _ in range(4):
        await _attempt(client, patient.email, "wrong password!")
    assert (await _attempt(client, patient.email, patient.password))[0] == 200
    client.session.cookie_jar.clear()
    for _ in range(4):
        assert (await _attempt(client, patient.email, "wrong password!"))[0] == 401
    assert (await _attempt(client, patient.email, patient.password))[0] == 200


async def test_unknown_email_locks_the_same_way(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@example.test"
    known_answers = [await _attempt(client, patient.email, "wrong password!") for _ in range(6)]
    unknown_answers = [await _attempt(client, unknown, "wrong password!") for _ in range(6)]
    assert [a[0] for a in known_answers] == [a[0] for a in unknown_answers] == [401] * 5 + [429]
    for known, unknown_answer in zip(known_answers, unknown_answers, strict=True):
        assert known[2]["error"]["code"] == unknown_answer[2]["error"]["code"]
        assert known[2]["error"]["message"] == unknown_answer[2]["error"]["message"]
        assert known[2]["error"]["details"] == unknown_answer[2]["error"]["details"]
    assert known_answers[-1][1]["Retry-After"] == unknown_answers[-1][1]["Retry-After"]


async def test_email_case_and_spaces_share_one_lock(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    variants = [
        patient.email.upper(),
        f"  {patient.email} ",
        patient.email.title(),
        patient.email,
        patient.email.upper(),
    ]
    for variant in variants:
        assert (await _attempt(client, variant, "wrong password!"))[0] == 401
    assert (await _attempt(client, patient.email, patient.password))[0] == 429


async def test_lock_ends_after_the_window(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    for _ in range(5):
        await _attempt(client, patient.email, "wrong password!")
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    status, headers, _ = await _attempt(client, patient.email, patient.password)
    assert status == 429
    assert headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    status, _, body = await _attempt(client, patient.email, patient.password)
    assert status == 200, body
    assert body["user"]["id"] == str(patient.id)


async def test_one_address_is_paused_after_twenty_failures_across_emails(
    client: TestClient,
) -> None:
    for n in range(20):
        status, _, _ = await _attempt(
            client, f"guess{n}-{uuid.uuid4().hex[:6]}@example.test", "wrong password!"
        )
        assert status == 401
    response = await client.post(
        LOGIN, json={"email": "another-one@example.test", "password": "wrong password!"}
    )
    await assert_error_shape(response, 429, "login_locked")
    assert int(response.headers["Retry-After"]) > 0


async def test_address_pause_also_stops_a_real_account(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    for n in range(20):
        await _attempt(client, f"guess{n}@example.test", "wrong password!")
    assert (await _attempt(client, patient.email, patient.password))[0] == 429


async def test_login_form_shows_the_lock_message_with_429(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    for _ in range(5):
        await _attempt(client, patient.email, "wrong password!")
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={"email": patient.email, "password": patient.password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 429
    assert response.headers["Retry-After"] == "900"
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Too many failed sign-in attempts" in page
    assert 'name="password"' in page  # the form again, not a bare error page
    assert (
        "Set-Cookie" not in response.headers or "th_session=" not in response.headers["Set-Cookie"]
    )


async def test_parallel_guesses_are_all_counted(
    client: TestClient, people: People, services: Services
) -> None:
    # Guesses at once must not slip past the limit by overwriting each other's count.
    patient = await people.make(Role.PATIENT)
    guesses = [
        client.post(LOGIN, json={"email": patient.email, "password": f"wrong guess {n}"})
        for n in range(8)
    ]
    statuses = [response.status for response in await asyncio.gather(*guesses)]
    assert set(statuses) <= {401, 429}, statuses
    async with services.sessions() as session:
        row = await session.get(LoginThrottle, account_throttle_key(patient.email))
    assert row is not None
    # Every guess that was answered "wrong password" was counted, none lost.
    assert row.failures == statuses.count(401) >= 5
    response = await client.post(LOGIN, json={"email": patient.email, "password": patient.password})
    await assert_error_shape(response, 429, "login_locked")
