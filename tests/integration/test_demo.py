"""The demo clinic: idempotent loading and working logins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import CareAssignment, User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.catalog.store import CATALOG
from telehealth.clock import ManualClock
from telehealth.demo import DEMO_CARE_TEAMS, DEMO_PEOPLE, describe_logins, load_demo_data
from telehealth.notes import service as notes
from telehealth.notes.models import VisitNote
from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services


async def _counts(services: Services) -> tuple[int, int]:
    async with services.sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        teams = await session.scalar(select(func.count()).select_from(CareAssignment))
    return int(users or 0), int(teams or 0)


async def _rows(services: Services) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    async with services.sessions() as session:
        visits = (await session.scalars(select(Appointment.id).order_by(Appointment.id))).all()
        notes = (await session.scalars(select(VisitNote.id).order_by(VisitNote.id))).all()
    return list(visits), list(notes)


async def test_loading_twice_is_idempotent(client: TestClient, services: Services) -> None:
    first = await load_demo_data(services)
    assert await _counts(services) == (6, 3)
    rows = await _rows(services)
    second = await load_demo_data(services)
    assert await _counts(services) == (6, 3)
    assert first == second == list(DEMO_PEOPLE)
    # The same visits and the one signed note: nothing booked or signed again.
    assert await _rows(services) == rows
    assert len(rows[1]) == 1


async def test_maria_has_a_home_program_from_dana_s_signed_note(
    client: TestClient, app: web.Application, services: Services
) -> None:
    await load_demo_data(services)
    async with services.sessions() as session:
        maria = await session.scalar(select(User).where(User.email == "maria.lopez@demo.clinic"))
        dana = await session.scalar(select(User).where(User.email == "dana.reyes@demo.clinic"))
        assert maria is not None and dana is not None
        note = await session.scalar(select(VisitNote).where(VisitNote.patient_id == maria.id))
        assert note is not None
        visit = await session.get(Appointment, note.appointment_id)
    assert visit is not None and visit.status == "completed"
    assert visit.checked_in_at is not None and visit.completed_at is not None
    assert (note.status, note.note_type, note.signed_by) == ("signed", "daily", dana.id)
    assert note.signed_at is not None and visit.end_at <= note.signed_at < services.clock.now()
    # Signed through the service: its seal holds, as the command line's check says.
    assert await notes.verify_all(services) == (1, None)
    program = await notes.current_exercises(
        services, app[CATALOG], Caller(actor=actor_of(maria), ip="test")
    )
    assert [(c.exercise.exercise_id, c.appointment_id) for c in program] == [
        ("bridge", visit.id),
        ("clamshell", visit.id),
        ("piriformis-stretch", visit.id),
    ]
    assert all(c.therapist_name == "Dana Reyes, DPT" for c in program)


async def test_each_demo_login_works_through_the_api(
    client: TestClient, services: Services
) -> None:
    people = await load_demo_data(services)
    for person in people:
        response = await client.post(
            "/api/v1/auth/login", json={"email": person.email, "password": person.password}
        )
        assert response.status == 200, (person.email, await response.text())
        user = (await response.json())["user"]
        assert (user["email"], user["role"], user["display_name"]) == (
            person.email,
            person.role.value,
            person.display_name,
        )
        client.session.cookie_jar.clear()


async def test_demo_care_teams_are_visible_to_their_therapists(
    client: TestClient, services: Services
) -> None:
    people = {p.email: p for p in await load_demo_data(services)}
    for therapist_email in {t for _, t in DEMO_CARE_TEAMS}:
        therapist = people[therapist_email]
        login = await client.post(
            "/api/v1/auth/login", json={"email": therapist.email, "password": therapist.password}
        )
        token = (await login.json())["token"]
        client.session.cookie_jar.clear()
        listed = await (
            await client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
        ).json()
        expected = sorted(p for p, t in DEMO_CARE_TEAMS if t == therapist_email)
        assert sorted(p["email"] for p in listed["items"]) == expected


def test_login_description_lists_every_account() -> None:
    text = describe_logins(list(DEMO_PEOPLE), "http://127.0.0.1:8080")
    assert text.startswith("Demo clinic ready at http://127.0.0.1:8080")
    for person in DEMO_PEOPLE:
        assert person.email in text and person.password in text


@pytest.mark.parametrize(
    "utc_time",
    [
        # 22:50 and 23:40 in New York, where a round-the-clock block ending at 23:59 local had
        # no room left for the first visit; 11:05 in New York; a UTC midnight.
        datetime(2026, 12, 8, 3, 50, tzinfo=UTC),
        datetime(2026, 12, 8, 4, 40, tzinfo=UTC),
        datetime(2026, 12, 8, 16, 5, tzinfo=UTC),
        datetime(2026, 12, 8, 23, 58, tzinfo=UTC),
        # 08:10 UTC: Dana's hours in UTC+4, where 14:00 in New York is 23:00, too late for the
        # later visit when its hour was read in her own zone.
        datetime(2026, 12, 8, 8, 10, tzinfo=UTC),
    ],
)
async def test_maria_s_video_visit_is_open_whenever_the_demo_loads(
    client: TestClient, services: Services, clock: ManualClock, utc_time: datetime
) -> None:
    clock.set(utc_time)
    await load_demo_data(services)
    async with services.sessions() as session:
        maria = await session.scalar(select(User).where(User.email == "maria.lopez@demo.clinic"))
        assert maria is not None
        visits = (
            await session.scalars(
                select(Appointment)
                .where(Appointment.patient_id == maria.id)
                .order_by(Appointment.start_at)
            )
        ).all()
    # Last week's visit with its signed note (see test_maria_has_a_home_program_...), then the
    # visits to come.
    past = [v for v in visits if v.start_at < utc_time]
    assert [v.status for v in past] == ["completed"], [v.start_at for v in past]
    week_ago = utc_time - timedelta(days=7)
    assert week_ago - timedelta(minutes=15) < past[0].start_at <= week_ago
    visits = [v for v in visits if v.start_at >= utc_time]
    assert visits, "no visit booked for the demo patient"
    first = visits[0]
    assert first.modality == "virtual"
    # At most a quarter of an hour away: its room (open from 15 minutes before) is open now.
    assert utc_time < first.start_at <= utc_time + timedelta(minutes=15)
    # And her later video visit, four days on (the browser tests move and cancel it).
    assert len(visits) == 2, [v.start_at for v in visits]
    later = visits[1]
    assert later.modality == "virtual"
    assert timedelta(days=3, hours=12) < later.start_at - utc_time < timedelta(days=4, hours=12)


async def _maria_s_visits(services: Services) -> list[Appointment]:
    async with services.sessions() as session:
        maria = await session.scalar(select(User).where(User.email == "maria.lopez@demo.clinic"))
        assert maria is not None
        query = (
            select(Appointment)
            .where(Appointment.patient_id == maria.id)
            .order_by(Appointment.start_at)
        )
        return list((await session.scalars(query)).all())


async def test_loading_again_hours_later_gives_a_video_visit_to_join_once(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    start = datetime(2026, 12, 8, 15, 2, tzinfo=UTC)
    clock.set(start)
    await load_demo_data(services)
    first = await _maria_s_visits(services)
    # Loaded again while that visit can still be joined: nothing new.
    clock.set(start + timedelta(minutes=20))
    await load_demo_data(services)
    assert [v.id for v in await _maria_s_visits(services)] == [v.id for v in first]

    # A newcomer comes back three hours later (make run loads the demo at every start).
    later = start + timedelta(hours=3)
    clock.set(later)
    await load_demo_data(services)
    again = await _maria_s_visits(services)
    assert len(again) == len(first) + 1
    new = next(v for v in again if v.id not in {f.id for f in first})
    assert new.modality == "virtual"
    assert later < new.start_at <= later + timedelta(minutes=15)
    await load_demo_data(services)
    assert len(await _maria_s_visits(services)) == len(again)
