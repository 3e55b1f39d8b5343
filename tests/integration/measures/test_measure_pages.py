"""Outcome measures through the real app, on both engines: answered and scored, refused in words
with the answers kept, nobody else's scores, and history that cannot be rewritten."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.measures.models import MeasureResponse
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, base_settings
from tests.integration.helpers import csrf_from_page, execute_sql
from tests.integration.scheduling.test_pages import page_sign_in

PACK_DIR = Path(__file__).parents[2] / "data" / "measures-pack"
LEFS_KEYS = re.compile(r'name="([a-z_]+)" value="0"')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app with the test instrument pack installed (placeholder wording)."""
    return base_settings(tmp_path, database_url, measure_pack_dir=PACK_DIR)


async def post(client: TestClient, key: str, form: dict[str, str]) -> tuple[int, str, str]:
    token = await csrf_from_page(client, f"/my/measures/{key}")
    response = await client.post(
        f"/my/measures/{key}", data={**form, "csrf_token": token}, allow_redirects=False
    )
    return response.status, response.headers.get("Location", ""), await response.text()


async def rows(services: Services, patient: Person) -> list[MeasureResponse]:
    async with services.sessions() as session:
        found = await session.scalars(
            select(MeasureResponse)
            .where(MeasureResponse.patient_id == patient.id)
            .order_by(MeasureResponse.created_at)
        )
        return list(found)


async def test_a_patient_answers_pain_twice_and_reads_the_change(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    home = await (await client.get("/")).text()
    assert 'href="/my/measures"' in home
    status, location, _ = await post(client, "nprs", {"pain": "6"})
    assert (status, location) == (303, "/my/measures?just=nprs")
    first = await (await client.get(location)).text()
    assert "Your pain rating score is 6" in first
    clock.advance(timedelta(minutes=10))  # within the session idle limit
    await post(client, "nprs", {"pain": "3"})
    page = await (await client.get("/my/measures?just=nprs")).text()
    assert "Your pain went from 6 to 3: 3 points better" in page
    saved = await rows(services, patient)
    assert [(r.instrument, r.score, r.answers) for r in saved] == [
        ("nprs", 6.0, {"pain": 6}),
        ("nprs", 3.0, {"pain": 3}),
    ]
    assert saved[0].instrument_version == "1" and saved[0].table_version == "measures-v1"
    assert saved[0].entered_by == patient.id
    async with services.sessions() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "measure.submit", AuditEvent.patient_id == patient.id
            )
        )
        assert audited == 2


async def test_lefs_prorates_a_few_left_out_and_compares_with_the_mcid(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    keys = LEFS_KEYS.findall(await (await client.get("/my/measures/lefs")).text())
    assert len(keys) == 20
    form = {key: "2" for key in keys}
    del form["hopping"]  # 19 answered x 2 = 38 -> 40 of 80
    assert (await post(client, "lefs", form))[0] == 303
    clock.advance(timedelta(minutes=1))
    assert (await post(client, "lefs", {key: "3" for key in keys}))[0] == 303
    page = await (await client.get("/my/measures?just=lefs")).text()
    assert "score went from 40 to 60 (out of 80): 20 points better, at least the 9 points" in page
    saved = await rows(services, patient)
    assert saved[0].detail["prorated"] is True and saved[0].detail["missing"] == ["hopping"]


async def test_wrong_answers_are_asked_again_in_words_with_every_answer_kept(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    keys = LEFS_KEYS.findall(await (await client.get("/my/measures/lefs")).text())
    form = {key: "1" for key in keys[5:]}  # five left out: one too many
    form["hopping"] = "9"
    status, _, page = await post(client, "lefs", form)
    assert status == 422
    assert "Please choose one of the answers." in page
    assert 'name="rolling_in_bed" value="1" checked' in page
    status, _, page = await post(client, "lefs", {key: "1" for key in keys[5:]})
    assert status == 422 and "you may leave out at most 4" in page

    status, _, page = await post(
        client,
        "psfs",
        {
            "activity_1": "Climbing stairs",
            "rating_1": "4",
            "activity_2": "Gardening",
            "rating_2": "11",
        },
    )
    assert status == 422
    assert "Please name from 3 to 5 activities." in page
    assert 'value="Climbing stairs"' in page and 'value="Gardening"' in page
    assert "Please choose how well you can do this activity." not in page
    assert await rows(services, patient) == []
    status, _, _ = await post(
        client,
        "psfs",
        {
            "activity_1": "Climbing stairs",
            "rating_1": "4",
            "activity_2": "Gardening",
            "rating_2": "6",
            "activity_3": "Carrying shopping",
            "rating_3": "5",
        },
    )
    assert status == 303
    [saved] = await rows(services, patient)
    assert saved.score == 5.0 and saved.instrument_version == "1995"


async def test_malformed_bodies_are_refused_not_failed(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    token = await csrf_from_page(client, "/my/measures/nprs")
    nul = await client.post("/my/measures/nprs", data={"pain": "6\x00", "csrf_token": token})
    assert nul.status in (400, 422)
    odd = await client.post("/my/measures/nprs", data={"pain": "-1", "csrf_token": token})
    assert odd.status == 422 and "Please choose one of the answers." in await odd.text()
    broken = await client.post(
        "/my/measures/nprs",
        data=b"--x\r\nnot a part",
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": token},
    )
    assert broken.status in (400, 403)
    unknown = await client.post("/my/measures/odi", data={"csrf_token": token})
    assert unknown.status == 404
    assert (await client.post("/my/measures/nprs", data={"pain": "3"})).status == 403


async def test_nobody_else_sees_a_patients_scores(
    client: TestClient, people: People, services: Services
) -> None:
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    therapist = await people.make(Role.THERAPIST)
    stranger = await people.make(Role.THERAPIST)
    admin = await people.make(Role.ADMIN)
    await people.assign(patient, therapist)
    await page_sign_in(client, patient)
    await post(client, "nprs", {"pain": "7"})
    url = f"/patients/{patient.id}/measures"

    await page_sign_in(client, other)
    assert (await client.get(url)).status == 404
    assert "7" not in (await (await client.get("/my/measures")).text()).split("Your scores")[1]
    await page_sign_in(client, stranger)
    assert (await client.get(url)).status == 404
    for person in (therapist, admin):
        await page_sign_in(client, person)
        response = await client.get(url)
        page = await response.text()
        assert response.status == 200 and "Pain rating" in page and "72514-3" in page
        # The test pack is installed: nothing is listed as missing.
        assert "Not installed at this clinic" not in page
    assert (await client.get("/patients/not-a-uuid/measures")).status == 404
    async with services.sessions() as session:
        denied = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "measure.read", AuditEvent.outcome == "denied"
            )
        )
        assert denied == 2


async def test_nobody_rewrites_a_score_in_the_database(
    client: TestClient, people: People, database_url: str
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    await post(client, "nprs", {"pain": "8"})
    for statement in (
        "UPDATE measure_responses SET score = 0",
        "DELETE FROM measure_responses",
    ):
        try:
            await execute_sql(database_url, statement)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
