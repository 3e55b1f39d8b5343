"""The patient checks in while the therapist asks for a ticket: both succeed, round after round.

The ticket insert share-locks its appointment row and the check-in row-locks it, and both end by
taking the audit chain's lock. Once, the ticket's insert was flushed after that lock, so each waited
for the other ("deadlock detected", a 500, and a lost check-in). Now every transaction takes the
chain lock last; 200 rounds must show no error and no lost check-in.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import T0, People, base_settings, login
from tests.integration.visits.support import pair, status_of, virtual_visit

# 200 check-ins: ten pairs at once, twenty rounds (the audit chain's lock is what they all share).
PAIRS = 10
ROUNDS = 20


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Sessions that outlive a clock moved by an hour a round."""
    return base_settings(
        tmp_path,
        database_url,
        session_idle=timedelta(days=60),
        session_absolute=timedelta(days=90),
    )


async def test_check_in_racing_the_therapists_ticket(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    pairs = []
    for _ in range(PAIRS):
        patient, therapist = await pair(people)
        pairs.append(
            (patient, await login(client, patient), therapist, await login(client, therapist))
        )
    client.session.cookie_jar.clear()
    # One visit an hour per pair (45 minutes and 15 of documentation: they touch, never overlap).
    rounds = [
        [
            await virtual_visit(services, patient, therapist, T0 + timedelta(hours=k, minutes=10))
            for patient, _, therapist, _ in pairs
        ]
        for k in range(ROUNDS)
    ]
    failures: list[tuple[int, int, str]] = []
    lost = []
    for k, visits in enumerate(rounds):
        clock.set(T0 + timedelta(hours=k))
        requests = []
        for visit, (_, patient_h, _, therapist_h) in zip(visits, pairs, strict=True):
            requests += [
                client.post(f"/api/v1/appointments/{visit}/check-in", headers=patient_h),
                client.post(f"/api/v1/visits/{visit}/ticket", headers=therapist_h),
            ]
        responses = await asyncio.gather(*requests)
        for n, response in enumerate(responses):
            if response.status != (200 if n % 2 == 0 else 201):
                failures.append((k, response.status, await response.text()))
        lost += [visit for visit in visits if await status_of(services, visit) != "checked_in"]
    assert failures == []
    assert lost == []
