"""Episodes and plans of care through the real app, on both engines: a therapist opens an
episode and writes the plan, revises it (goals keep their identity, the old version stays
readable), records certification, sees the progress clock count signed visits, and discharges;
the patient reads the plan in plain words; nobody else sees it; history cannot be rewritten."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.care.models import CareDischarge, CarePlanVersion
from telehealth.unit_of_work import Services
from tests.conftest import T0, People, Person
from tests.integration.helpers import csrf_from_page, execute_sql
from tests.integration.notes.helpers import bearer, make_visit, signable_note, write_signed_note
from tests.integration.scheduling.test_pages import page_sign_in

_EPISODE = re.compile(r"^/episodes/([0-9a-f-]{36})/plan$")


def plan_form(**changes: str) -> dict[str, str]:
    """A first plan: twice a week for 6 weeks, one long-term goal, from 2 March 2026 (T0)."""
    form = {
        "based_on": "0",
        "start_date": "2026-03-02",
        "frequency_per_week": "2",
        "amount_per_day": "1",
        "duration_weeks": "6",
        "duration_visits": "",
        "cert_end": "",
        "diagnoses": "M25.551",
        "interventions": "therapeutic-exercise",
        "modalities": "virtual",
        "goal_0_id": "",
        "goal_0_term": "long",
        "goal_0_status": "in_progress",
        "goal_0_text": "Walk to the shops without hip pain",
        "goal_0_baseline": "NPRS 6",
        "goal_0_target": "NPRS 2",
        "goal_0_measure": "NPRS",
        "goal_0_target_date": "2026-04-10",
        "goal_1_id": "",
        "goal_1_term": "short",
        "goal_1_status": "in_progress",
        "goal_1_text": "",
        "goal_1_baseline": "",
        "goal_1_target": "",
        "goal_1_measure": "",
        "goal_1_target_date": "",
    }
    form.update(changes)
    return form


async def clinic(people: People) -> tuple[Person, Person, Person]:
    """A therapist, their patient, and a therapist not on the patient's care team."""
    therapist = await people.make(Role.THERAPIST, "Dana Reyes")
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    await people.assign(patient, therapist)
    stranger = await people.make(Role.THERAPIST, "Sam Okafor")
    return therapist, patient, stranger


async def open_episode(client: TestClient, therapist: Person, patient: Person) -> str:
    """Sign in as the therapist and open an episode; its id."""
    await page_sign_in(client, therapist)
    token = await csrf_from_page(client, "/caseload")
    opened = await client.post(
        "/caseload/episodes",
        data={"patient_id": str(patient.id), "title": "Right hip pain", "csrf_token": token},
        allow_redirects=False,
    )
    assert opened.status == 303, await opened.text()
    found = _EPISODE.match(opened.headers["Location"])
    assert found, opened.headers["Location"]
    return found.group(1)


async def post_plan(client: TestClient, episode: str, form: dict[str, Any]) -> Any:
    token = await csrf_from_page(client, f"/episodes/{episode}/plan")
    return await client.post(
        f"/episodes/{episode}/plan", data={**form, "csrf_token": token}, allow_redirects=False
    )


async def test_a_therapist_writes_a_plan_and_the_patient_reads_it(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    saved = await post_plan(client, episode, plan_form())
    assert saved.status == 303 and saved.headers["Location"] == f"/episodes/{episode}"
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "Maria Lopez: Right hip pain" in page
    assert "twice a week, for 6 weeks (12 visits)" in page
    assert "02 Mar 2026 to 12 Apr 2026" in page
    assert "Walk to the shops without hip pain" in page
    assert "Not yet sent to the referring practitioner" in page
    caseload = await (await client.get("/caseload")).text()
    assert "Maria Lopez: Right hip pain" in caseload and "0 of 12" in caseload

    await page_sign_in(client, patient)
    own = await client.get(f"/episodes/{episode}", allow_redirects=False)
    assert own.status == 303 and own.headers["Location"] == "/my/plan"
    mine = await (await client.get("/my/plan")).text()
    assert "Dana Reyes plans to see you twice a week for 6 weeks" in mine
    assert "until about 12 April 2026" in mine and "as video visits" in mine
    assert "From NPRS 6 to NPRS 2, by 10 April 2026" in mine
    assert "Therapeutic exercise" not in mine or "Exercises" in mine  # the plain name is shown
    async with services.sessions() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEvent.action.like("care.%"), AuditEvent.patient_id == patient.id
            )
        )
        assert audited is not None and audited >= 4


async def test_a_refused_plan_keeps_every_value_and_names_each_problem(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    refused = await post_plan(
        client,
        episode,
        plan_form(
            diagnoses="M25.5, M54.50",
            duration_visits="12",
            goal_1_text="Sit through a film",
            goal_1_baseline="20 minutes",
            goal_1_target="2 hours",
            goal_1_target_date="not a date",
        ),
    )
    assert refused.status == 422
    page = await refused.text()
    assert 'value="M25.5, M54.50"' in page
    assert "Give the date the goal should be reached by." in page
    assert 'value="Sit through a film"' in page and 'value="12"' in page
    # The readable dates fixed, the rules speak: the code and the double duration.
    refused = await post_plan(
        client,
        episode,
        plan_form(diagnoses="M25.5, M54.50", duration_visits="12"),
    )
    page = await refused.text()
    assert refused.status == 422
    assert "M25.5 is not a billable ICD-10-CM code" in page
    assert "Give the duration in weeks or in visits (one of the two)." in page
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CarePlanVersion)) == 0


async def test_a_revision_is_a_new_version_and_goals_keep_their_identity(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    async with services.sessions() as session:
        first = await session.scalar(select(CarePlanVersion))
        assert first is not None
        goal_id = first.goals[0]["id"]
    revise = plan_form(
        based_on="1",
        frequency_per_week="1",
        goal_0_id=goal_id,
        goal_0_status="met",
        goal_1_text="Climb stairs one foot per step",
        goal_1_baseline="one step at a time",
        goal_1_target="foot over foot",
        goal_1_target_date="2026-04-01",
        goal_1_term="long",
    )
    without_reason = await post_plan(client, episode, revise)
    assert without_reason.status == 422
    assert "Say what changed and why" in await without_reason.text()
    saved = await post_plan(client, episode, {**revise, "change_reason": "Hip goal met"})
    assert saved.status == 303
    async with services.sessions() as session:
        versions = (
            await session.scalars(select(CarePlanVersion).order_by(CarePlanVersion.version))
        ).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].goals[0]["id"] == goal_id and versions[1].goals[0]["status"] == "met"
        assert versions[1].goals[1]["id"] not in (goal_id, "")
        assert versions[0].goals[0]["status"] == "in_progress"  # the old version as written
    old = await (await client.get(f"/episodes/{episode}/plan/1")).text()
    assert "twice a week" in old and "In progress" in old
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "once a week" in page and 'href="/episodes/' + episode + '/plan/1"' in page

    # A form that still shows version 1 is refused rather than silently overwriting version 2.
    stale = await post_plan(client, episode, {**revise, "change_reason": "again"})
    assert stale.status == 409 and "Someone revised this plan" in await stale.text()
    # A forged goal id is refused.
    forged = await post_plan(
        client,
        episode,
        {**revise, "based_on": "2", "goal_0_id": str(uuid.uuid4()), "change_reason": "x"},
    )
    assert forged.status == 422 and "not one of this plan" in await forged.text()


async def test_two_revisions_at_once_store_one(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    token = await csrf_from_page(client, f"/episodes/{episode}/plan")

    async def post() -> int:
        response = await client.post(
            f"/episodes/{episode}/plan",
            data={**plan_form(), "csrf_token": token},
            allow_redirects=False,
        )
        return response.status

    statuses = await asyncio.gather(*(post() for _ in range(4)))
    assert sorted(statuses).count(303) == 1, statuses
    assert all(s in (303, 409) for s in statuses), statuses
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CarePlanVersion)) == 1


async def test_signed_visits_count_toward_the_progress_report(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    headers = await bearer(client, therapist)
    # Eight visits on eight days after the episode opened, each signed with a billable service.
    for day in range(1, 9):
        visit = await make_visit(services, patient, therapist, start=T0 + timedelta(days=day))
        await write_signed_note(client, headers, visit, signable_note())
    services.clock.advance(timedelta(days=9))  # type: ignore[attr-defined]
    await page_sign_in(client, therapist)
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "8 of 10 treatment days: progress report due within 2 visits" in page
    caseload = await (await client.get("/caseload")).text()
    assert "progress report due within 2 visits" in caseload and "8 of 12" in caseload

    # A progress note starts a new count.
    headers = await bearer(client, therapist)
    visit = await make_visit(services, patient, therapist, start=T0 + timedelta(days=9))
    await write_signed_note(client, headers, visit, signable_note(note_type="progress"))
    services.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    await page_sign_in(client, therapist)
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "0 of 10 treatment days" in page and "Last report" in page


async def test_certification_steps_and_discharge(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    token = await csrf_from_page(client, f"/episodes/{episode}")
    future = await client.post(
        f"/episodes/{episode}/certification",
        data={"kind": "signed", "on_date": "2026-03-09", "csrf_token": token},
    )
    assert future.status == 422 and "cannot be dated in the future" in await future.text()
    recorded = await client.post(
        f"/episodes/{episode}/certification",
        data={
            "kind": "verbal_order",
            "on_date": "2026-03-02",
            "practitioner": "Dr Ann Lee",
            "csrf_token": token,
        },
        allow_redirects=False,
    )
    assert recorded.status == 303
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "Verbal order on 02 Mar 2026; signature due 16 Mar 2026" in page

    async with services.sessions() as session:
        plan = await session.scalar(select(CarePlanVersion))
        assert plan is not None
        goal_id = plan.goals[0]["id"]
    token = await csrf_from_page(client, f"/episodes/{episode}/discharge")
    incomplete = await client.post(
        f"/episodes/{episode}/discharge",
        data={"summary": "Walking well", "csrf_token": token},
    )
    assert incomplete.status == 422 and "Say how each goal ended." in await incomplete.text()
    assert "Walking well" in await incomplete.text()
    form = {
        f"outcome_{goal_id}": "met",
        "summary": "Walking to the shops without pain.",
        "keep_doing": "Bridges daily.",
        "csrf_token": token,
    }
    statuses = await asyncio.gather(
        *(
            client.post(f"/episodes/{episode}/discharge", data=form, allow_redirects=False)
            for _ in range(3)
        )
    )
    assert all(r.status in (303, 409) for r in statuses), [r.status for r in statuses]
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CareDischarge)) == 1
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert "Discharged" in page and "Revise the plan" not in page
    assert "Maria Lopez: Right hip pain" not in await (await client.get("/caseload")).text()
    # A discharged episode takes no new version.
    again = await client.post(
        f"/episodes/{episode}/plan",
        data={**plan_form(based_on="1"), "change_reason": "x", "csrf_token": token},
    )
    assert again.status == 409

    await page_sign_in(client, patient)
    mine = await (await client.get("/my/plan")).text()
    assert "(finished)" in mine and "Bridges daily." in mine


async def test_nobody_else_sees_or_writes_the_plan(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, stranger = await clinic(people)
    other_patient = await people.make(Role.PATIENT)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303

    await page_sign_in(client, stranger)
    assert (await client.get(f"/episodes/{episode}")).status == 404
    assert (await client.get(f"/episodes/{episode}/plan/1")).status == 404
    assert (await client.get(f"/patients/{patient.id}/episodes")).status == 404
    token = await csrf_from_page(client, "/caseload")
    refused = await client.post(
        "/caseload/episodes",
        data={"patient_id": str(patient.id), "title": "Neck", "csrf_token": token},
    )
    assert refused.status == 404
    written = await client.post(
        f"/episodes/{episode}/plan",
        data={**plan_form(based_on="1"), "change_reason": "x", "csrf_token": token},
    )
    assert written.status == 404

    await page_sign_in(client, other_patient)
    assert (await client.get(f"/episodes/{episode}")).status == 404
    assert "Right hip pain" not in await (await client.get("/my/plan")).text()
    token = await csrf_from_page(client, "/my/plan")
    assert (
        await client.post(
            f"/episodes/{episode}/plan",
            data={**plan_form(based_on="1"), "change_reason": "x", "csrf_token": token},
        )
    ).status in (403, 404)
    async with services.sessions() as session:
        denied = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "care.episode.read", AuditEvent.outcome == "denied"
            )
        )
        assert denied is not None and denied >= 2


async def test_bad_input_is_refused_in_words(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await client.get("/episodes/not-a-uuid")).status == 404
    assert (await client.get(f"/episodes/{uuid.uuid4()}")).status == 404
    assert (await client.get(f"/episodes/{episode}/plan/abc")).status == 404
    nul = await post_plan(client, episode, plan_form(goal_0_text="Walk\x00"))
    assert nul.status == 422
    no_csrf = await client.post(f"/episodes/{episode}/plan", data=plan_form())
    assert no_csrf.status == 403
    token = await csrf_from_page(client, "/caseload")
    untitled = await client.post(
        "/caseload/episodes",
        data={"patient_id": str(patient.id), "title": "   ", "csrf_token": token},
    )
    assert untitled.status == 422 and "Name the problem" in await untitled.text()
    no_patient = await client.post(
        "/caseload/episodes", data={"patient_id": "x", "title": "Hip", "csrf_token": token}
    )
    assert no_patient.status == 422 and "Choose the patient." in await no_patient.text()
    huge = await post_plan(client, episode, plan_form(frequency_per_week="99999999999"))
    assert huge.status == 422
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CarePlanVersion)) == 0


async def test_nobody_rewrites_a_plan_in_the_database(
    client: TestClient, people: People, database_url: str
) -> None:
    therapist, patient, _ = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    for statement in (
        "UPDATE care_plan_versions SET frequency_per_week = 7",
        "DELETE FROM care_plan_versions",
        "UPDATE care_episodes SET title = 'x'",
        "DELETE FROM care_episodes",
    ):
        try:
            await execute_sql(database_url, statement)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
