"""Today through the real app, on both engines: exercises marked done and sessions logged once
however often they are sent (at once, or replayed from an offline outbox), bad input refused in
words, nobody else's logs, and logs that cannot be rewritten."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.home_program.models import ExerciseDone, SessionLog
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
from tests.integration.helpers import execute_sql
from tests.integration.notes.helpers import bearer, make_visit, signable_note, write_signed_note
from tests.integration.scheduling.test_pages import page_sign_in

JSON = {"Accept": "application/json"}


async def with_program(client: TestClient, services: Services, people: People) -> Person:
    """A patient whose therapist signed a note with bridge and piriformis stretch at home."""
    therapist = await people.make(Role.THERAPIST, "Dana Therapist")
    patient = await people.make(Role.PATIENT, "Alice Patient")
    await people.assign(patient, therapist)
    visit = await make_visit(services, patient, therapist)
    await write_signed_note(client, await bearer(client, therapist), visit, signable_note())
    await page_sign_in(client, patient)
    return patient


async def today(client: TestClient) -> tuple[str, str, str]:
    """The page, its day and its CSRF token."""
    page = await (await client.get("/my/today")).text()
    day = re.search(r'data-day="([0-9-]+)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert day and token, page
    return page, day.group(1), token.group(1)


async def count(services: Services, model: type[ExerciseDone] | type[SessionLog]) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_today_shows_the_program_with_pictures_and_amounts_in_words(
    client: TestClient, services: Services, people: People
) -> None:
    await with_program(client, services, people)
    home = await (await client.get("/")).text()
    assert 'href="/my/today"' in home
    page, _, _ = await today(client)
    assert "Bridge" in page and "Piriformis stretch" in page
    assert 'src="/static/exercises/bridge.svg"' in page
    assert "2 sets of 10, hold 3 seconds, once a day" in page
    assert "5 times a week, on any days you choose" in page
    assert "1 set of 3, hold 30 seconds, twice a day" in page
    assert 'data-seconds="30"' in page
    svg = await client.get("/static/exercises/bridge.svg")
    assert svg.status == 200 and "<title" in await svg.text()
    worker = await client.get("/my/today-sw.js")
    assert worker.status == 200 and "javascript" in worker.headers["Content-Type"]


async def test_done_twice_at_once_and_a_replay_store_one_mark(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await with_program(client, services, people)
    _, day, token = await today(client)
    client_id = str(uuid.uuid4())
    form = {"csrf_token": token, "exercise": "bridge", "day": day, "client_id": client_id}
    answers = await asyncio.gather(
        *(client.post("/my/today/done", data=form, headers=JSON) for _ in range(4))
    )
    assert [a.status for a in answers] == [200] * 4
    stored = [(await a.json())["stored"] for a in answers]
    assert stored.count(True) == 1
    # A replay from the offline outbox: the same body, the token in the header.
    replay = await client.post(
        "/my/today/done",
        data={k: v for k, v in form.items() if k != "csrf_token"},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert replay.status == 200 and (await replay.json())["stored"] is False
    # Another press with a new id the same day stores nothing either (a plain form post).
    again = await client.post(
        "/my/today/done", data={**form, "client_id": str(uuid.uuid4())}, allow_redirects=False
    )
    assert again.status == 303 and again.headers["Location"] == "/my/today#ex-bridge"
    assert await count(services, ExerciseDone) == 1
    page, _, _ = await today(client)
    assert "Done today ✓" in page and "done 1 of 5 this week" in page
    async with services.sessions() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "home_program.done", AuditEvent.patient_id == patient.id
            )
        )
    assert audited == 6
    # Without the token, a replay is refused like any other post.
    refused = await client.post("/my/today/done", data={**form, "csrf_token": "x"}, headers=JSON)
    assert refused.status == 403


async def test_a_session_log_is_kept_once_and_wrong_answers_are_asked_again(
    client: TestClient, services: Services, people: People
) -> None:
    await with_program(client, services, people)
    _, day, token = await today(client)
    client_id = str(uuid.uuid4())
    form = {
        "csrf_token": token,
        "day": day,
        "client_id": client_id,
        "pain": "3",
        "difficulty": "just_right",
        "comment": "Bridges felt easier.",
    }
    answers = await asyncio.gather(
        *(client.post("/my/today/log", data=form, headers=JSON) for _ in range(3))
    )
    assert sorted([(await a.json())["stored"] for a in answers]) == [False, False, True]
    assert await count(services, SessionLog) == 1
    page, _, _ = await today(client)
    assert "Pain 3 out of 10 · Just right" in page and "Bridges felt easier." in page

    wrong = await client.post(
        "/my/today/log",
        data={**form, "client_id": str(uuid.uuid4()), "pain": "11", "comment": "kept text"},
    )
    text = await wrong.text()
    assert wrong.status == 422 and "Please choose your pain from 0" in text
    assert "kept text" in text and 'value="just_right" checked' in text
    long = await client.post(
        "/my/today/log", data={**form, "client_id": str(uuid.uuid4()), "comment": "x" * 1100}
    )
    assert long.status == 422 and "1000 characters" in await long.text()
    assert await count(services, SessionLog) == 1


async def test_malformed_input_is_refused_never_a_server_error(
    client: TestClient, services: Services, people: People
) -> None:
    await with_program(client, services, people)
    _, day, token = await today(client)
    base = {"csrf_token": token, "exercise": "bridge", "day": day, "client_id": str(uuid.uuid4())}
    for changed in (
        {"exercise": "bridge\x00"},
        {"client_id": "not-a-uuid"},
        {"day": "2026-02-30"},
        {"day": "1999-01-01"},
        {"exercise": "Bridge!"},
    ):
        response = await client.post("/my/today/done", data={**base, **changed}, headers=JSON)
        assert response.status in (400, 422), (changed, await response.text())
    unknown = await client.post(
        "/my/today/done", data={**base, "exercise": "chin-tuck"}, headers=JSON
    )
    assert unknown.status == 404
    broken = await client.post(
        "/my/today/log",
        data=b"--x\r\nnot a part",
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": token},
    )
    assert broken.status in (400, 403)
    nul = await client.post(
        "/my/today/log", data={"csrf_token": token, "pain": "3\x00", "day": day}
    )
    assert nul.status in (400, 422)
    assert await count(services, ExerciseDone) == 0


async def test_only_the_patients_own_team_reads_her_logs(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await with_program(client, services, people)
    _, day, token = await today(client)
    await client.post(
        "/my/today/log",
        data={
            "csrf_token": token,
            "day": day,
            "client_id": str(uuid.uuid4()),
            "pain": "4",
            "difficulty": "hard",
        },
    )
    url = f"/patients/{patient.id}/home-program"
    other = await people.make(Role.PATIENT)
    stranger = await people.make(Role.THERAPIST)
    for person in (other, stranger):
        await page_sign_in(client, person)
        assert (await client.get(url)).status == 404
    therapist = await people.make(Role.THERAPIST)
    await people.assign(patient, therapist)
    await page_sign_in(client, therapist)
    response = await client.get(url)
    page = await response.text()
    assert response.status == 200 and "Hard" in page and ">4<" in page
    assert (await client.get("/patients/not-a-uuid/home-program")).status == 404
    await page_sign_in(client, other)
    assert (await client.get("/my/today")).status == 200
    assert "no home exercises yet" in await (await client.get("/my/today")).text()


async def test_nobody_rewrites_the_logs_in_the_database(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    await with_program(client, services, people)
    _, day, token = await today(client)
    await client.post(
        "/my/today/done",
        data={
            "csrf_token": token,
            "exercise": "bridge",
            "day": day,
            "client_id": str(uuid.uuid4()),
        },
    )
    await client.post(
        "/my/today/log",
        data={
            "csrf_token": token,
            "day": day,
            "client_id": str(uuid.uuid4()),
            "pain": "2",
            "difficulty": "easy",
        },
    )
    for statement in (
        "UPDATE home_exercise_done SET exercise_id = 'clamshell'",
        "DELETE FROM home_exercise_done",
        "UPDATE home_session_logs SET pain = 0",
        "DELETE FROM home_session_logs",
    ):
        try:
            await execute_sql(database_url, statement)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")


async def test_a_mark_from_yesterday_counts_but_not_older(
    client: TestClient, services: Services, people: People, clock: object
) -> None:
    await with_program(client, services, people)
    _, day, token = await today(client)
    from datetime import date

    yesterday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    form = {"csrf_token": token, "exercise": "piriformis-stretch", "client_id": str(uuid.uuid4())}
    ok = await client.post("/my/today/done", data={**form, "day": yesterday}, headers=JSON)
    assert ok.status == 200 and (await ok.json())["stored"] is True
    older = (date.fromisoformat(day) - timedelta(days=2)).isoformat()
    refused = await client.post(
        "/my/today/done",
        data={**form, "client_id": str(uuid.uuid4()), "day": older},
        headers=JSON,
    )
    assert refused.status == 422
