"""Builders shared by the scheduling integration tests: a small clinic with working hours."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from telehealth.accounts.models import Role, User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.config import Settings
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import WeeklyBlock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, base_settings, login


def queueing_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for a burst of bookings: sessions survive a moved clock, and the requests queue.

    Bookings of one therapist or patient are serial by design, so a burst of hundreds takes
    seconds on a small machine: longer than the default pool timeout, after which the service
    sheds load with 503 (tests/integration/health). The burst tests ask whether the requests
    queue or deadlock, not how fast the machine is, so the pool (and SQLite's busy wait, where
    writers take turns but not in arrival order) waits as long as it takes; so does opening the
    pool's connections, which a burst asks for all at once (thirty PostgreSQL connects on a busy
    2-core machine can take longer than the 5 s connect timeout).
    """
    return base_settings(
        tmp_path,
        database_url,
        session_idle=timedelta(days=60),
        session_absolute=timedelta(days=90),
        db_pool_timeout=120.0,
        db_statement_timeout=120.0,
        db_connect_timeout=120.0,
    )


async def sign_in(client: TestClient, person: Person) -> dict[str, str]:
    """Bearer headers for a person; the cookie jar is emptied so tests act by token only."""
    headers = await login(client, person)
    client.session.cookie_jar.clear()
    return headers


# Mon-Fri 09:00-17:00 local with a lunch gap 12:00-13:00.
WORKDAY = ((time(9), time(12)), (time(13), time(17)))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def parse(text: str) -> datetime:
    """An ISO 8601 instant from a response."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(instant: datetime) -> str:
    """ISO 8601 with a Z, safe inside a query string."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def quick_user(services: Services, role: Role, zone: str = "America/New_York") -> User:
    """An account that never signs in (no password hashing: the concurrency tests need many)."""
    now = services.clock.now()
    user = User(
        email=f"{role.value}-{uuid.uuid4().hex[:10]}@example.test",
        display_name=f"{role.value.title()} {uuid.uuid4().hex[:4]}",
        role=role.value,
        password_hash="!",
        is_active=True,
        time_zone=zone,
        created_at=now,
        updated_at=now,
    )
    async with services.sessions() as session:
        session.add(user)
        await session.commit()
    return user


async def set_hours(
    services: Services,
    therapist: User,
    zone: str = "America/New_York",
    days: tuple[int, ...] = (0, 1, 2, 3, 4),
    spans: tuple[tuple[time, time], ...] = WORKDAY,
) -> None:
    """Give a therapist weekly hours through the service, acting as the therapist."""
    blocks = [WeeklyBlock(d, s, e) for d in days for s, e in spans]
    caller = Caller(actor=actor_of(therapist), ip="test")
    await availability_service.set_weekly_hours(services, caller, therapist.id, zone, blocks)


@dataclass
class Clinic:
    """An admin, a therapist with hours and two patients (one on the therapist's care team)."""

    admin: Person
    therapist: Person
    patient: Person
    other_patient: Person
    admin_h: dict[str, str]
    therapist_h: dict[str, str]
    patient_h: dict[str, str]
    other_h: dict[str, str]


async def make_clinic(client: TestClient, services: Services, people: People) -> Clinic:
    """The usual cast, signed in."""
    admin = await people.make(Role.ADMIN)
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    await people.assign(patient, therapist)
    await set_hours(services, therapist.user)
    return Clinic(
        admin,
        therapist,
        patient,
        other,
        await sign_in(client, admin),
        await sign_in(client, therapist),
        await sign_in(client, patient),
        await sign_in(client, other),
    )


async def book(
    client: TestClient,
    headers: dict[str, str],
    start: datetime,
    type_key: str = "follow_up",
    modality: str = "virtual",
    **extra: Any,
) -> ClientResponse:
    """POST /appointments."""
    body: dict[str, Any] = {"type": type_key, "modality": modality, "start": iso(start)}
    body.update({k: str(v) if isinstance(v, uuid.UUID) else v for k, v in extra.items()})
    return await client.post("/api/v1/appointments", json=body, headers=headers)


OVERLAPS_SQL = """
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.id < b.id
 AND a.status IN ('booked', 'checked_in', 'in_progress', 'completed')
 AND b.status IN ('booked', 'checked_in', 'in_progress', 'completed')
 AND ((a.therapist_id = b.therapist_id
       AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end)
   OR (a.patient_id = b.patient_id AND a.start_at < b.end_at AND b.start_at < a.end_at))
"""


async def overlapping_pairs(services: Services) -> int:
    """Pairs of active appointments that overlap (therapist with buffers, or patient)."""
    async with services.sessions() as session:
        return int(await session.scalar(text(OVERLAPS_SQL)) or 0)


async def count_appointments(services: Services) -> int:
    """All appointment rows."""
    async with services.sessions() as session:
        return int(await session.scalar(text("SELECT count(*) FROM appointments")) or 0)
