"""Property: a slot offered by the API never overlaps a stored appointment or its buffers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.scheduling.appointment_types import SEEDED_BY_KEY
from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import (
    book,
    iso,
    parse,
    quick_user,
    set_hours,
    sign_in,
    utc,
)

DAY_START = utc(2026, 3, 3, 13)  # 08:00 in New York, an hour before the therapist starts
TYPES = ["free_screening", "initial_evaluation", "follow_up", "re_evaluation", "discharge"]

existing = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10 * 60), st.sampled_from(TYPES)),
    min_size=1,
    max_size=6,
)


@pytest.fixture
async def admin_h(client: TestClient, people: People) -> dict[str, str]:
    """A signed-in admin."""
    return await sign_in(client, await people.make(Role.ADMIN))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bookings=existing, searched=st.sampled_from(TYPES))
async def test_offered_slots_avoid_stored_appointments_and_buffers(
    client: TestClient,
    services: Services,
    admin_h: dict[str, str],
    bookings: list[tuple[int, str]],
    searched: str,
) -> None:
    # A fresh therapist per example: the database outlives the examples.
    therapist = await quick_user(services, Role.THERAPIST)
    await set_hours(services, therapist)
    for offset, type_key in bookings:
        patient = await quick_user(services, Role.PATIENT)
        response = await book(
            client,
            admin_h,
            DAY_START + timedelta(minutes=offset),
            type_key=type_key,
            patient_id=patient.id,
            therapist_id=therapist.id,
        )
        assert response.status in (201, 409), await response.text()
    async with services.sessions() as session:
        stored = (
            await session.execute(
                select(Appointment.blocked_start, Appointment.blocked_end).where(
                    Appointment.therapist_id == therapist.id
                )
            )
        ).all()
    response = await client.get(
        "/api/v1/slots",
        params={
            "type": searched,
            "modality": "virtual",
            "therapist_id": str(therapist.id),
            "start": iso(DAY_START),
            "end": iso(DAY_START + timedelta(hours=12)),
        },
        headers=admin_h,
    )
    assert response.status == 200, await response.text()
    t = SEEDED_BY_KEY[searched]
    for slot in (await response.json())["slots"]:
        start = parse(slot["start"])
        blocked = (start - t.buffer_before, start + t.duration + t.buffer_after)
        for b_start, b_end in stored:
            assert not (blocked[0] < b_end and b_start < blocked[1]), (slot, b_start, b_end)
        # And inside working hours (09:00-12:00, 13:00-17:00 New York = 14-17, 18-22 UTC).
        inside = [
            (utc(2026, 3, 3, 14), utc(2026, 3, 3, 17)),
            (utc(2026, 3, 3, 18), utc(2026, 3, 3, 22)),
        ]
        assert any(lo <= blocked[0] and blocked[1] <= hi for lo, hi in inside), slot
