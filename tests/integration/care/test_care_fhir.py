"""The patient's FHIR record carries each episode of care: EpisodeOfCare, the plan in force as a
CarePlan with its Goals and diagnoses, validated as FHIR R4 and scoped like the rest."""

from __future__ import annotations

from collections import Counter

from aiohttp.test_utils import TestClient
from fhir.resources.R4B.bundle import Bundle

from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.care.test_plan_of_care_pages import (
    clinic,
    open_episode,
    plan_form,
    post_plan,
)
from tests.integration.notes.helpers import API, bearer, ok_json


async def test_the_record_carries_the_episode_plan_and_goals(
    client: TestClient, people: People, services: Services
) -> None:
    therapist, patient, stranger = await clinic(people)
    episode = await open_episode(client, therapist, patient)
    form = plan_form(
        diagnoses="M25.551, M62.81",
        goal_1_text="Sleep without waking",
        goal_1_baseline="wakes 3 nights a week",
        goal_1_target="no waking",
        goal_1_target_date="2026-03-20",
    )
    assert (await post_plan(client, episode, form)).status == 303

    url = f"{API}/patients/{patient.id}/fhir"
    body = await ok_json(await client.get(url, headers=await bearer(client, therapist)))
    Bundle.model_validate(body)
    resources = [entry["resource"] for entry in body["entry"]]
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds == {
        "Patient": 1,
        "Practitioner": 1,
        "EpisodeOfCare": 1,
        "Condition": 2,
        "CarePlan": 1,
        "Goal": 2,
    }, kinds
    by_type = {r["resourceType"]: r for r in resources}
    care_episode, plan = by_type["EpisodeOfCare"], by_type["CarePlan"]
    assert care_episode["id"] == episode and care_episode["status"] == "active"
    assert care_episode["careManager"] == {"reference": f"Practitioner/{therapist.id}"}
    assert plan["period"] == {"start": "2026-03-02", "end": "2026-04-12"}
    assert plan["supportingInfo"] == [{"reference": f"EpisodeOfCare/{episode}"}]
    assert [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]] == ["97110"]
    goal_ids = {r["id"] for r in resources if r["resourceType"] == "Goal"}
    assert {g["reference"].split("/")[1] for g in plan["goal"]} == goal_ids
    codes = {r["code"]["coding"][0]["code"] for r in resources if r["resourceType"] == "Condition"}
    assert codes == {"M25.551", "M62.81"}

    # The patient exports her own; the same export twice names the same resources.
    own = await ok_json(await client.get(url, headers=await bearer(client, patient)))
    Bundle.model_validate(own)
    again = await ok_json(await client.get(url, headers=await bearer(client, patient)))
    assert sorted(e["fullUrl"] for e in own["entry"]) == sorted(
        e["fullUrl"] for e in again["entry"]
    )
    # A therapist not on the care team gets nothing of it.
    other = await client.get(url, headers=await bearer(client, stranger))
    assert other.status == 404
