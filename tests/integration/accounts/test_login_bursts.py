"""Login limits hold under bursts of parallel attempts through the real app, on both engines.

Each attempt is counted before its password is checked, so however many arrive at once, no more
than the limit of passwords are ever checked. The app's password hasher counts its checks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import LoginThrottle, Role
from telehealth.accounts.rules import account_throttle_key, address_throttle_key
from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import People, base_settings

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """These bursts are about what is counted, not about shedding load: on a 2-core machine 200
    parallel sign-ins queue for the pool longer than the 5 s fail-fast default, which would turn
    a few into 503 (by design). The longer bounds let every attempt reach the counter."""
    return base_settings(
        tmp_path,
        database_url,
        db_pool_timeout=120.0,
        db_statement_timeout=120.0,
        db_connect_timeout=120.0,
    )


async def _burst(client: TestClient, attempts: list[tuple[str, str]]) -> list[tuple[int, Any]]:
    """All attempts at once, as API clients that keep no cookies (so none carries a session)."""
    url = client.make_url(LOGIN)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def one(email: str, password: str) -> tuple[int, Any]:
            async with http.post(url, json={"email": email, "password": password}) as response:
                return response.status, await response.json()

        return list(await asyncio.gather(*(one(email, password) for email, password in attempts)))


async def _failures(services: Services, key: str) -> int | None:
    async with services.sessions() as session:
        row = await session.get(LoginThrottle, key)
        return row.failures if row is not None else None


def _answer(body: Any) -> tuple[str, str, Any]:
    error = body["error"]
    return error["code"], error["message"], repr(error["details"])


async def test_a_burst_of_200_wrong_passwords_checks_only_five(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    checked_before = services.passwords.verifications
    answers = await _burst(client, [(patient.email, f"wrong guess {n}") for n in range(200)])
    statuses = Counter(status for status, _ in answers)
    assert statuses == {401: 5, 429: 195}, statuses
    assert services.passwords.verifications - checked_before == 5
    assert await _failures(services, account_throttle_key(patient.email)) == 5
    # The locked answers name the lock, and no session came of any of it.
    assert {_answer(body)[0] for status, body in answers if status == 429} == {"login_locked"}


async def test_a_right_password_in_a_burst_after_the_lock_is_refused(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    first = await _burst(client, [(patient.email, f"wrong guess {n}") for n in range(60)])
    assert Counter(status for status, _ in first) == {401: 5, 429: 55}
    checked_before = services.passwords.verifications
    attempts = [(patient.email, f"more guesses {n}") for n in range(59)]
    attempts.insert(30, (patient.email, patient.password))
    second = await _burst(client, attempts)
    assert [status for status, _ in second] == [429] * 60
    assert services.passwords.verifications == checked_before


async def test_a_right_password_racing_wrong_ones_gets_in_only_within_the_limit(
    client: TestClient, people: People, services: Services
) -> None:
    # Which attempts are counted first is up to the scheduler; whatever the order, five are
    # checked in all, and the right one signs in only if it was among them.
    patient = await people.make(Role.PATIENT)
    checked_before = services.passwords.verifications
    attempts = [(patient.email, f"wrong guess {n}") for n in range(59)] + [
        (patient.email, patient.password)
    ]
    answers = await _burst(client, attempts)
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 401, 429}, statuses
    assert services.passwords.verifications - checked_before == 5
    if statuses[-1] == 200:
        assert statuses.count(401) <= 4
    else:
        assert statuses[-1] == 429
        assert statuses.count(401) == 5


async def test_a_burst_across_200_emails_from_one_address_checks_only_twenty(
    client: TestClient, services: Services
) -> None:
    checked_before = services.passwords.verifications
    tag = uuid.uuid4().hex[:6]
    answers = await _burst(
        client, [(f"guess{n}-{tag}@example.test", "wrong password!") for n in range(200)]
    )
    statuses = Counter(status for status, _ in answers)
    assert statuses == {401: 20, 429: 180}, statuses
    assert services.passwords.verifications - checked_before == 20
    assert await _failures(services, address_throttle_key("127.0.0.1")) == 20
    # A refused attempt left no count on its email.
    counted = [
        await _failures(services, account_throttle_key(f"guess{n}-{tag}@example.test"))
        for n in range(200)
    ]
    assert sorted(counted, key=lambda c: c or 0) == [None] * 180 + [1] * 20


async def test_known_and_unknown_emails_answer_a_burst_alike(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@example.test"
    known = await _burst(client, [(patient.email, "wrong password!")] * 8)
    strange = await _burst(client, [(unknown, "wrong password!")] * 8)
    assert Counter((s, _answer(b)) for s, b in known) == Counter(
        (s, _answer(b)) for s, b in strange
    )
    assert Counter(s for s, _ in known) == {401: 5, 429: 3}
    assert await _failures(services, account_throttle_key(unknown)) == 5


async def test_a_right_password_resets_the_account_but_only_refunds_the_address(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    for n in range(3):
        answers = await _burst(client, [(f"spray{n}@example.test", "wrong password!")])
        assert answers[0][0] == 401
    await _burst(client, [(patient.email, "wrong password!")] * 2)
    assert (await _burst(client, [(patient.email, patient.password)]))[0][0] == 200
    assert await _failures(services, account_throttle_key(patient.email)) is None
    # 3 + 2 failures stay on the address; the sign-in's own count was given back.
    assert await _failures(services, address_throttle_key("127.0.0.1")) == 5
