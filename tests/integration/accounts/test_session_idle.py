"""A one-minute idle limit holds to the second: active sessions stay, idle ones end at the limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from telehealth.config import Settings
from tests.conftest import People, base_settings, login


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app under test signs out after one idle minute (TELEHEALTH_SESSION_IDLE_MINUTES=1)."""
    return replace(base_settings(tmp_path, database_url), session_idle=timedelta(minutes=1))


async def _me(client: TestClient, headers: dict[str, str]) -> int:
    return (await client.get("/api/v1/me", headers=headers)).status


async def test_requests_every_30_seconds_keep_the_session(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    start = clock.now()
    for second in (30, 59, 61, 90, 120):
        clock.set(start + timedelta(seconds=second))
        assert await _me(client, headers) == 200, f"signed out at {second} s"
    clock.advance(timedelta(seconds=61))
    assert await _me(client, headers) == 401


async def test_an_idle_session_ends_at_the_limit(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    kept = await login(client, patient)
    dropped = await login(client, patient)
    clock.advance(timedelta(seconds=59))
    assert await _me(client, kept) == 200
    clock.advance(timedelta(seconds=1))
    assert await _me(client, dropped) == 401


async def test_frequent_requests_keep_it_and_it_ends_within_the_limit_of_the_last(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    # Requests closer together than the touch interval are not all written; still no gap
    # shorter than three quarters of the limit signs anyone out, and the session never outlives
    # its last request by more than the limit.
    patient = await people.make(Role.PATIENT)
    headers = await login(client, patient)
    for _ in range(29):
        clock.advance(timedelta(seconds=10))
        assert await _me(client, headers) == 200
    # At 290 s the last write was at 280 s: 45 s on, 55 s have passed since it.
    clock.advance(timedelta(seconds=45))
    assert await _me(client, headers) == 200
    clock.advance(timedelta(seconds=60))
    assert await _me(client, headers) == 401


async def test_after_rapid_requests_the_session_ends_within_a_second_of_the_limit(
    client: TestClient, people: People, clock: ManualClock
) -> None:
    # Requests 0.4 s apart are not all written; the stored time still trails the last request
    # by less than a second, so the limit holds to the second after it.
    patient = await people.make(Role.PATIENT)
    early = await login(client, patient)
    late = await login(client, patient)
    for _ in range(25):
        clock.advance(timedelta(milliseconds=400))
        assert await _me(client, early) == 200
        assert await _me(client, late) == 200
    last = clock.now()
    clock.set(last + timedelta(seconds=59))
    assert await _me(client, early) == 200
    clock.set(last + timedelta(seconds=60))
    assert await _me(client, late) == 401
