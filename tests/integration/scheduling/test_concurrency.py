"""Hundreds of simultaneous bookings through the HTTP API: the database lets exactly one win each time."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import (
    book,
    count_appointments,
    overlapping_pairs,
    queueing_settings,
    quick_user,
    set_hours,
    sign_in,
    utc,
)

REQUESTS = 200
# Four starts (Tuesday 09:00, 10:00, 11:00 and, after lunch, 13:00 in New York) whose blocked
# intervals (follow-up: 45 min + 15 min after) at most touch: each can be held exactly once, and
# every request collides fully with a quarter of the others.
STARTS = [utc(2026, 3, 3, 14) + timedelta(hours=h) for h in (0, 1, 2, 4)]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Requests that queue as long as the burst takes (see queueing_settings)."""
    return queueing_settings(tmp_path, database_url)


async def test_200_concurrent_bookings_of_one_therapist(
    client: TestClient, services: Services, people: People
) -> None:
    admin_h = await sign_in(client, await people.make(Role.ADMIN))
    therapist = await quick_user(services, Role.THERAPIST)
    await set_hours(services, therapist)
    patients = [await quick_user(services, Role.PATIENT) for _ in range(REQUESTS)]
    responses = await asyncio.gather(
        *(
            book(
                client,
                admin_h,
                STARTS[i % len(STARTS)],
                patient_id=patients[i].id,
                therapist_id=therapist.id,
            )
            for i in range(REQUESTS)
        )
    )
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: len(STARTS), 409: REQUESTS - len(STARTS)}, statuses
    codes = Counter([(await r.json())["error"]["code"] for r in responses if r.status == 409])
    assert set(codes) <= {"slot_taken", "therapist_busy"}, codes
    assert await overlapping_pairs(services) == 0
    assert await count_appointments(services) == len(STARTS)


async def test_200_concurrent_bookings_of_one_patient_across_therapists(
    client: TestClient, services: Services, people: People
) -> None:
    admin_h = await sign_in(client, await people.make(Role.ADMIN))
    patient = await quick_user(services, Role.PATIENT)
    therapists = [await quick_user(services, Role.THERAPIST) for _ in range(8)]
    for therapist in therapists:
        await set_hours(services, therapist)
    responses = await asyncio.gather(
        *(
            book(
                client,
                admin_h,
                STARTS[i % 2],
                patient_id=patient.id,
                therapist_id=therapists[i % len(therapists)].id,
            )
            for i in range(REQUESTS)
        )
    )
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: 2, 409: REQUESTS - 2}, statuses
    assert not [r for r in responses if r.status >= 500]
    codes = Counter([(await r.json())["error"]["code"] for r in responses if r.status == 409])
    assert "patient_busy" in codes, codes
    assert await overlapping_pairs(services) == 0
    assert await count_appointments(services) == 2
