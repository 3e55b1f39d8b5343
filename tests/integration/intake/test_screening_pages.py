"""The screening questions through the real app, on both engines: each tier's outcome, answers
kept when some are missing, the red flags on the staff home until someone takes charge, nobody
else's answers, and history that cannot be rewritten."""

from __future__ import annotations

import asyncio
import re

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.intake.models import ScreeningAcknowledgement, ScreeningIntake
from telehealth.intake.triage import load_table
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
from tests.integration.helpers import csrf_from_page, execute_sql
from tests.integration.scheduling.test_pages import page_sign_in

_INTAKE_URL = re.compile(r"^/screening/([0-9a-f-]{36})$")


def calm_form(**changes: str) -> dict[str, str]:
    """A 35-year-old with long-standing pain and no warning sign, with changes."""
    form = {key: "no" for key, q in load_table().questions.items() if q.kind == "boolean"}
    form["age"] = "35"
    form.update(changes)
    return form


async def answer(client: TestClient, patient: Person, **changes: str) -> tuple[int, str, str]:
    """Sign in as the patient and post the form: (status, where it went, the page)."""
    await page_sign_in(client, patient)
    token = await csrf_from_page(client, "/screening")
    posted = await client.post(
        "/screening", data={**calm_form(**changes), "csrf_token": token}, allow_redirects=False
    )
    location = posted.headers.get("Location", "")
    return posted.status, location, await posted.text()


async def test_a_calm_intake_offers_the_free_screening(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    status, location, _ = await answer(client, patient)
    assert status == 303 and _INTAKE_URL.match(location), (status, location)
    page = await (await client.get(location)).text()
    assert "You can book your free screening" in page
    assert 'href="/book?type=free_screening"' in page
    home = await (await client.get("/")).text()
    assert "Answer the screening questions" not in home


async def test_an_emergency_answer_says_call_911_and_offers_no_booking(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    status, location, _ = await answer(client, patient, saddle_numbness="yes")
    assert status == 303
    page = await (await client.get(location)).text()
    assert "Please get care now" in page and 'href="tel:911"' in page
    assert "/book" not in page.split("<main", 1)[1]
    # The patient's home keeps saying it.
    home = await (await client.get("/")).text()
    assert "emergency department now" in home
    async with services.sessions() as session:
        row = await session.scalar(select(ScreeningIntake))
        assert row is not None and row.tier == "emergency"
        assert row.matched == ["cauda-equina-saddle"] and row.answered_by == patient.id
        audited = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "screening.intake", AuditEvent.patient_id == patient.id
            )
        )
        assert audited == 1


async def test_missing_answers_are_asked_again_with_the_rest_kept(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    token = await csrf_from_page(client, "/screening")
    form = calm_form(fever="yes", age="2000")
    del form["saddle_numbness"]
    posted = await client.post("/screening", data={**form, "csrf_token": token})
    page = await posted.text()
    assert posted.status == 422
    assert "Please answer 2 more questions" in page
    assert 'id="p-saddle_numbness"' in page and "from 0 to 120" in page
    # What was answered stays chosen.
    assert re.search(r'name="fever" value="yes" checked', page)
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ScreeningIntake)) == 0


async def test_red_flags_wait_on_the_staff_home_until_someone_takes_charge(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    therapist = await people.make(Role.THERAPIST)
    stranger = await people.make(Role.THERAPIST)
    admin = await people.make(Role.ADMIN)
    await people.assign(patient, therapist)
    _, location, _ = await answer(client, patient, fever="yes")

    await page_sign_in(client, therapist)
    home = await (await client.get("/")).text()
    assert "Screening answers that need a clinician" in home
    assert "Possible infection: fever or chills" in home
    # Not on the care team: nothing shown.
    await page_sign_in(client, stranger)
    assert patient.user.display_name not in await (await client.get("/")).text()
    assert (await client.get(location)).status == 404

    # Two clinicians take charge at once: one acknowledgement, both see who.
    async def take_charge(person: Person) -> int:
        await page_sign_in(client, person)
        token = await csrf_from_page(client, location)
        response = await client.post(
            f"{location}/acknowledge", data={"csrf_token": token, "note": "Called her"}
        )
        return response.status

    assert await take_charge(therapist) == 200
    await page_sign_in(client, admin)
    token = await csrf_from_page(client, "/")
    statuses = await asyncio.gather(
        client.post(f"{location}/acknowledge", data={"csrf_token": token}),
        client.post(f"{location}/acknowledge", data={"csrf_token": token}),
    )
    assert [s.status for s in statuses] == [200, 200]
    async with services.sessions() as session:
        count = select(func.count()).select_from(ScreeningAcknowledgement)
        assert await session.scalar(count) == 1
    page = await (await client.get(location)).text()
    assert f"{therapist.user.display_name} has taken charge of this" in page
    assert "Screening answers that need a clinician" not in await (await client.get("/")).text()


async def test_another_patient_cannot_read_or_answer_for_someone(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    _, location, _ = await answer(client, patient)
    await page_sign_in(client, other)
    assert (await client.get(location)).status == 404
    token = await csrf_from_page(client, "/")
    acknowledged = await client.post(f"{location}/acknowledge", data={"csrf_token": token})
    assert acknowledged.status == 403
    assert (await client.get("/screening/not-a-uuid")).status == 404


async def test_bad_form_bodies_are_refused_in_words(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    token = await csrf_from_page(client, "/screening")
    nul = await client.post("/screening", data={**calm_form(fever="y\x00es"), "csrf_token": token})
    assert nul.status == 422
    odd = await client.post("/screening", data={**calm_form(fever="maybe"), "csrf_token": token})
    assert odd.status == 422 and "Please choose Yes or No." in await odd.text()
    no_csrf = await client.post("/screening", data=calm_form())
    assert no_csrf.status == 403


async def test_nobody_rewrites_an_intake_in_the_database(
    client: TestClient, people: People, database_url: str
) -> None:
    patient = await people.make(Role.PATIENT)
    await answer(client, patient, saddle_numbness="yes")
    for statement in (
        "UPDATE screening_intakes SET tier = 'routine'",
        "DELETE FROM screening_intakes",
    ):
        try:
            await execute_sql(database_url, statement)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
