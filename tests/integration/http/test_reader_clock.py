"""Every page writes a time of day in its reader's clock: "8:15 PM" for a browser asking for
American English, "20:15" for British English, whatever page they are on.

One evening visit is read from each page that names a time: the visit runs 20:15-21:00 in New
York (where everyone here lives) and its note is signed at 21:30; the other times (a cancellation,
a saved template, a deactivation) are written at that 21:30 too, so each page has an evening time
that reads differently on the two clocks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.clock import ManualClock
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import DateException, ExceptionKind
from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    ok_json,
    signable_note,
    write_signed_note,
)
from tests.integration.scheduling.support import set_hours, utc

US = {"Accept-Language": "en-US,en;q=0.9"}
GB = {"Accept-Language": "en-GB,en;q=0.9"}
DASH = "\u2013"  # en dash, as the pages join a range
# Monday 2 March 2026, 20:15 in New York (EST, UTC-5); the visit ends at 21:00.
EVENING = utc(2026, 3, 3, 1, 15)
# The note is signed, and everything else written, at 21:30 that evening.
WRITTEN = utc(2026, 3, 3, 2, 30)


@dataclass
class Evening:
    """The people, the visits and their bearer headers."""

    therapist: dict[str, str]
    patient: dict[str, str]
    admin: dict[str, str]
    signed_visit: uuid.UUID  # 20:15-21:00, note signed 21:30
    next_visit: uuid.UUID  # Tuesday 20:15-21:00, still booked
    cancelled_visit: uuid.UUID  # Wednesday 20:15, cancelled at 21:30 on Monday
    type_key: str  # the signed visit's type, whose note template is saved at 21:30
    deactivated: uuid.UUID  # a patient deactivated at 21:30


async def _evening(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> Evening:
    therapist = await people.make(Role.THERAPIST, "Dana Therapist")
    patient = await people.make(Role.PATIENT, "Alice Patient")
    leaving = await people.make(Role.PATIENT, "Bob Patient")
    admin = await people.make(Role.ADMIN)
    await people.assign(patient, therapist)
    await set_hours(services, therapist.user)
    signed = await make_visit(services, patient, therapist, EVENING)
    later = await make_visit(
        services, patient, therapist, EVENING + timedelta(days=1), status="booked"
    )
    dropped = await make_visit(
        services, patient, therapist, EVENING + timedelta(days=2), status="booked"
    )
    # Extra hours on Saturday, 20:15-21:00 on the therapist's clock.
    await availability_service.add_exception(
        services,
        Caller(actor=actor_of(therapist.user), ip="test"),
        therapist.id,
        DateException(date(2026, 3, 7), ExceptionKind.EXTRA_HOURS, time(20, 15), time(21)),
    )

    clock.set(WRITTEN)
    therapist_h, patient_h, admin_h = [await bearer(client, p) for p in (therapist, patient, admin)]
    await write_signed_note(client, therapist_h, signed, signable_note())
    await ok_json(
        await client.post(
            f"/api/v1/appointments/{dropped}/cancel", json={"reason": ""}, headers=patient_h
        )
    )
    async with services.sessions() as session:
        key = await session.scalar(
            select(AppointmentTypeRow.key)
            .join(Appointment, Appointment.type_id == AppointmentTypeRow.id)
            .where(Appointment.id == signed)
        )
    assert key is not None
    await ok_json(
        await client.put(
            f"/api/v1/note-templates/{key}",
            json={"version": 0, "document": {"plan": "Continue plan of care."}},
            headers=admin_h,
        )
    )
    await ok_json(
        await client.patch(
            f"/api/v1/users/{leaving.id}", json={"is_active": False}, headers=admin_h
        )
    )
    return Evening(therapist_h, patient_h, admin_h, signed, later, dropped, key, leaving.id)


async def _reads(
    client: TestClient,
    path: str,
    headers: dict[str, str],
    twelve: list[str],
    twenty_four: list[str],
    method: str = "GET",
    status: int = 200,
) -> None:
    """The page says each of `twelve` to an American reader and each of `twenty_four` to a
    British one, and neither reads the other's clock."""
    for language, says, never in ((US, twelve, twenty_four), (GB, twenty_four, twelve)):
        response = await client.request(method, path, headers={**headers, **language})
        html = await response.text()
        assert response.status == status, html
        for text in says:
            assert text in html, (path, language, text)
        for text in never:
            assert text not in html, (path, language, text)


async def test_scheduling_pages_write_the_readers_clock(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    e = await _evening(client, services, people, clock)

    await _reads(
        client,
        "/agenda?view=day&day=2026-03-02",
        e.therapist,
        # The time opens the visit, the name the patient's chart.
        [f'<strong>8:15{DASH}9:00 PM</strong></a> <a href="/patients/'],
        [f'<strong>20:15{DASH}21:00</strong></a> <a href="/patients/'],
    )
    await _reads(
        client,
        "/admin/calendar?day=2026-03-02",
        e.admin,
        ["<strong>8:15 PM</strong> Alice Patient with Dana Therapist"],
        ["<strong>20:15</strong> Alice Patient with Dana Therapist"],
    )
    await _reads(
        client,
        f"/appointments/{e.signed_visit}",
        e.therapist,
        [f"Monday 02 March 2026, 8:15{DASH}9:00 PM", "Signed 02 March 2026, 9:30 PM."],
        [f"Monday 02 March 2026, 20:15{DASH}21:00", "Signed 02 March 2026, 21:30."],
    )
    await _reads(
        client,
        f"/appointments/{e.cancelled_visit}",
        e.patient,
        ["<dd>Mon 02 Mar 2026, 9:30 PM by the patient"],
        ["<dd>Mon 02 Mar 2026, 21:30 by the patient"],
    )
    # The notice after a move, and the cancel page, say the time as a sentence.
    await _reads(
        client,
        f"/appointments/{e.next_visit}?moved=1",
        e.patient,
        ["Your visit is now on Tue 3 Mar at 8:15 PM."],
        ["Your visit is now on Tue 3 Mar at 20:15."],
    )
    await _reads(
        client,
        f"/appointments/{e.next_visit}/cancel",
        e.patient,
        ["Tue 3 Mar at 8:15 PM"],
        ["Tue 3 Mar at 20:15"],
    )
    await _reads(
        client,
        "/availability",
        e.therapist,
        [f"Extra hours 8:15{DASH}9:00 PM"],
        [f"Extra hours 20:15{DASH}21:00"],
    )


async def test_note_visit_and_admin_pages_write_the_readers_clock(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    e = await _evening(client, services, people, clock)

    await _reads(
        client,
        f"/visits/{e.signed_visit}/note",
        e.therapist,
        [f"Mon 02 Mar 2026, 8:15 PM {DASH} 9:00 PM"],
        [f"Mon 02 Mar 2026, 20:15 {DASH} 21:00"],
    )
    await _reads(
        client,
        f"/visits/{e.signed_visit}/summary",
        e.patient,
        ["Mon 02 Mar 2026, 8:15 PM with", "on Mon 02 Mar 2026, 9:30 PM."],
        ["Mon 02 Mar 2026, 20:15 with", "on Mon 02 Mar 2026, 21:30."],
    )
    await _reads(
        client,
        f"/admin/note-templates/{e.type_key}",
        e.admin,
        ["saved 02 March 2026, 9:30 PM."],
        ["saved 02 March 2026, 21:30."],
    )
    await _reads(
        client,
        f"/admin/people/{e.deactivated}",
        e.admin,
        ["Deactivated Mon 02 Mar 2026, 9:30 PM"],
        ["Deactivated Mon 02 Mar 2026, 21:30"],
    )
    # A join link works until half an hour after the visit's end (21:00 + 30 minutes).
    await _reads(
        client,
        f"/visits/{e.next_visit}/join-link",
        e.therapist,
        ["until Tuesday 03 March, 9:30 PM."],
        ["until Tuesday 03 March, 21:30."],
        method="POST",
        status=201,
    )
