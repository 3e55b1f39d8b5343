"""Room events recorded out of order or at once still carry the visit to in progress and completed.

The lobby shows a patient before their join is recorded, and the two may be recorded by different
instances: an admission recorded first must check the visit in itself, and the late join must
change nothing and raise nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from telehealth.visits.service import record_visit_event
from tests.conftest import People
from tests.integration.visits.support import pair, status_of, virtual_visit


async def test_an_admission_recorded_before_the_join_starts_the_visit(
    services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    await record_visit_event(services, "admit", visit, patient.id)
    assert await status_of(services, visit) == "in_progress"
    await record_visit_event(services, "join", visit, patient.id)
    assert await status_of(services, visit) == "in_progress"
    await record_visit_event(services, "end", visit, therapist.id)
    assert await status_of(services, visit) == "completed"


async def test_a_join_and_an_admission_recorded_at_once_start_the_visit(
    services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    await asyncio.gather(
        record_visit_event(services, "join", visit, patient.id),
        record_visit_event(services, "admit", visit, patient.id),
    )
    assert await status_of(services, visit) == "in_progress"


async def test_the_therapist_entering_first_moves_nothing(
    services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    await record_visit_event(services, "join", visit, therapist.id)
    await record_visit_event(services, "admit", visit, therapist.id)
    assert await status_of(services, visit) == "booked"
