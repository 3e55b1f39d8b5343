"""The demo clinic: idempotent loading and working logins."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.accounts.models import CareAssignment, User
from telehealth.demo import DEMO_CARE_TEAMS, DEMO_PEOPLE, describe_logins, load_demo_data
from telehealth.unit_of_work import Services


async def _counts(services: Services) -> tuple[int, int]:
    async with services.sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        teams = await session.scalar(select(func.count()).select_from(CareAssignment))
    return int(users or 0), int(teams or 0)


async def test_loading_twice_is_idempotent(client: TestClient, services: Services) -> None:
    first = await load_demo_data(services)
    assert await _counts(services) == (6, 3)
    second = await load_demo_data(services)
    assert await _counts(services) == (6, 3)
    assert first == second == list(DEMO_PEOPLE)


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
