"""Check-in to completion, cancellation, the no-show pass, and atomic rescheduling."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.scheduling.tasks import mark_no_shows
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.scheduling.support import book, iso, make_clinic, parse, utc

TUESDAY_10 = utc(2026, 3, 3, 15)


async def _post(
    client: TestClient, path: str, headers: dict[str, str], body: object = None
) -> dict:
    response = await client.post(f"/api/v1/appointments/{path}", json=body, headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_check_in_start_complete(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    ).json()
    aid = appointment["id"]
    early = await client.post(f"/api/v1/appointments/{aid}/check-in", headers=c.patient_h)
    await assert_error_shape(early, 409, "too_early")
    clock.set(TUESDAY_10 - timedelta(minutes=10))
    assert (await _post(client, f"{aid}/check-in", c.patient_h))["status"] == "checked_in"
    # Only the treating therapist starts the visit.
    await assert_error_shape(
        await client.post(f"/api/v1/appointments/{aid}/start", headers=c.patient_h), 403
    )
    assert (await _post(client, f"{aid}/start", c.therapist_h))["status"] == "in_progress"
    done = await _post(client, f"{aid}/complete", c.therapist_h)
    assert done["status"] == "completed" and done["completed_at"]
    again = await client.post(
        f"/api/v1/appointments/{aid}/cancel", json={"reason": "x"}, headers=c.admin_h
    )
    await assert_error_shape(again, 409, "illegal_transition")
    async with services.sessions() as session:
        actions = set(
            (
                await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.resource_id == aid)
                )
            ).all()
        )
    assert {
        "appointment.book",
        "appointment.check_in",
        "appointment.start",
        "appointment.complete",
    } <= actions


async def test_cancel_records_who_when_why_and_late(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    first = await (await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)).json()
    # Staff must give a reason.
    no_reason = await client.post(
        f"/api/v1/appointments/{first['id']}/cancel", json={}, headers=c.therapist_h
    )
    await assert_error_shape(no_reason, 422)
    clock.set(TUESDAY_10 - timedelta(hours=3))
    cancelled = await _post(
        client, f"{first['id']}/cancel", c.patient_h, {"reason": "feeling better"}
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["late_cancellation"] is True  # follow-up cutoff is 24 hours
    assert cancelled["cancelled_by_role"] == "patient"
    assert parse(cancelled["cancelled_at"]) == clock.now()
    # The time is free again (staff are not held to the notice rule).
    rebook = await book(
        client, c.admin_h, TUESDAY_10, therapist_id=c.therapist.id, patient_id=c.other_patient.id
    )
    assert rebook.status == 201, await rebook.text()


async def test_no_show_pass_marks_once_and_audits_as_system(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    missed = await (await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)).json()
    later = await (
        await book(client, c.patient_h, utc(2026, 3, 3, 18), therapist_id=c.therapist.id)
    ).json()
    clock.set(TUESDAY_10 + timedelta(minutes=14))
    assert await mark_no_shows(services) == 0
    clock.set(TUESDAY_10 + timedelta(minutes=16))
    # Two instances running the pass at the same moment mark it once between them.
    import asyncio

    counts = await asyncio.gather(mark_no_shows(services), mark_no_shows(services))
    assert sorted(counts) == [0, 1]
    read = await client.get(f"/api/v1/appointments/{missed['id']}", headers=c.therapist_h)
    assert (await read.json())["status"] == "no_show"
    still = await client.get(f"/api/v1/appointments/{later['id']}", headers=c.therapist_h)
    assert (await still.json())["status"] == "booked"
    async with services.sessions() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "appointment.mark_no_show",
                    AuditEvent.resource_id == missed["id"],
                )
            )
        ).all()
    assert len(events) == 1 and events[0].actor_id is None
    assert str(events[0].patient_id) == str(c.patient.id)


async def test_reschedule_is_atomic(client: TestClient, services: Services, people: People) -> None:
    c = await make_clinic(client, services, people)
    mine = await (await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)).json()
    theirs = await book(client, c.other_h, utc(2026, 3, 3, 18), therapist_id=c.therapist.id)
    assert theirs.status == 201
    taken = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule",
        json={"start": iso(utc(2026, 3, 3, 18, 15))},
        headers=c.patient_h,
    )
    await assert_error_shape(taken, 409)
    kept = await (
        await client.get(f"/api/v1/appointments/{mine['id']}", headers=c.patient_h)
    ).json()
    assert parse(kept["start"]) == TUESDAY_10 and kept["version"] == mine["version"]
    # Moving by 15 minutes overlaps its own old time: fine, the row is checked against others only.
    moved = await _post(
        client,
        f"{mine['id']}/reschedule",
        c.patient_h,
        {"start": iso(TUESDAY_10 + timedelta(minutes=15))},
    )
    assert parse(moved["start"]) == TUESDAY_10 + timedelta(minutes=15)
    assert moved["version"] == mine["version"] + 1
    stale = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule",
        json={"start": iso(utc(2026, 3, 4, 15)), "version": mine["version"]},
        headers=c.therapist_h,
    )
    await assert_error_shape(stale, 409, "stale_version")
    async with services.sessions() as session:
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "appointment.reschedule",
                AuditEvent.resource_id == mine["id"],
                AuditEvent.outcome == "success",
            )
        )
    assert event is not None
    assert parse(event.details["old_start"]) == TUESDAY_10
    assert parse(event.details["new_start"]) == TUESDAY_10 + timedelta(minutes=15)
