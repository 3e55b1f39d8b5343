"""The pages people use: sign-in, each role's home, and the admin's people pages."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from yarl import URL

from telehealth.accounts.models import Role, User
from telehealth.app import create_app
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.http.keys import SERVICES
from tests.conftest import People, base_settings
from tests.integration.helpers import csrf_from_page, sign_in

BURST = 30


async def test_login_page_renders(client: TestClient) -> None:
    response = await client.get("/login")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert 'action="/login"' in page
    assert 'name="password"' in page
    assert "<script>" not in page  # no inline script under the CSP
    assert "/register" not in page  # self-registration is off by default


async def test_home_without_session_redirects_to_sign_in(client: TestClient) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_wrong_password_on_the_form_shows_the_form_with_401(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login", data={"email": patient.email, "password": "not the password", "csrf_token": token}
    )
    assert response.status == 401
    page = await response.text()
    assert "do not match" in page
    assert patient.email in page  # the email is kept in the form


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/x",
        "/\\evil.example/x",
        "/\t/evil.example/x",
        "/\n/evil.example/x",
        "/\r\n/evil.example/x",
        "\t//evil.example/x",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\t/",
    ],
)
async def test_sign_in_does_not_redirect_off_site(
    client: TestClient, people: People, target: str
) -> None:
    patient = await people.make(Role.PATIENT)
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={
            "email": patient.email,
            "password": patient.password,
            "csrf_token": token,
            "next": target,
        },
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    # Browsers read a backslash as a slash and drop tabs and newlines in URLs.
    as_browser = location.replace("\\", "/")
    resolved = URL("https://clinic.example/").join(URL(as_browser))
    assert resolved.host == "clinic.example", location


async def test_sign_in_keeps_a_same_site_target(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={
            "email": patient.email,
            "password": patient.password,
            "csrf_token": token,
            "next": "/visits/today?tab=2",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/visits/today?tab=2"


async def test_patient_home_shows_own_name_and_care_team(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    therapist = await people.make(Role.THERAPIST, "Dana Reyes")
    await people.make(Role.THERAPIST, "Sam Okafor")
    await people.assign(patient, therapist)
    await sign_in(client, patient)
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert "Hello, Maria" in page
    assert "Dana Reyes" in page
    assert "Sam Okafor" not in page


async def test_a_burst_of_home_page_views_is_all_answered_and_audited(
    client: TestClient, people: People, services: Any
) -> None:
    # On SQLite the page's writers (its audit records) queue in the process, so a burst neither
    # fails with "database is locked" nor waits in SQLite's sleeping busy handler.
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    therapist = await people.make(Role.THERAPIST, "Dana Reyes")
    await people.assign(patient, therapist)
    await sign_in(client, patient)

    async def view() -> tuple[int, str]:
        response = await client.get("/")
        return response.status, await response.text()

    answers = await asyncio.gather(*(view() for _ in range(BURST)))
    assert [status for status, _ in answers] == [200] * BURST
    assert all("Dana Reyes" in page for _, page in answers)
    async with services.sessions.reading() as session:
        reads = await session.scalars(
            select(AuditEvent.request_id).where(
                AuditEvent.action == "care_team.read", AuditEvent.patient_id == patient.id
            )
        )
        assert len(set(reads)) == BURST  # one per page view, each under its own request


async def test_therapist_home_lists_only_own_patients(client: TestClient, people: People) -> None:
    dana = await people.make(Role.THERAPIST, "Dana Reyes")
    sam = await people.make(Role.THERAPIST, "Sam Okafor")
    maria = await people.make(Role.PATIENT, "Maria Lopez")
    priya = await people.make(Role.PATIENT, "Priya Shah")
    await people.assign(maria, dana)
    await people.assign(priya, sam)
    await sign_in(client, dana)
    page = await (await client.get("/")).text()
    assert "Maria Lopez" in page
    assert maria.email in page
    assert "Priya Shah" not in page
    assert priya.email not in page


async def test_admin_home_lists_people(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN, "Alex Morgan")
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    therapist = await people.make(Role.THERAPIST, "Dana Reyes")
    await sign_in(client, admin)
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    for person in (patient, therapist):
        assert f'href="/admin/people/{person.id}"' in page
    assert "Maria Lopez" in page and "Dana Reyes" in page


async def test_admin_creates_a_therapist_through_the_form(
    client: TestClient, people: People, services: Any
) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf_from_page(client, "/admin/people/new?role=therapist")
    email = f"new-therapist-{uuid.uuid4().hex[:6]}@example.test"
    response = await client.post(
        "/admin/people",
        data={
            "csrf_token": token,
            "role": "therapist",
            "display_name": "Jordan Lee, DPT",
            "email": email,
            "phone": "",
            "time_zone": "Europe/London",
            "password": "temporary password 1",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert re.fullmatch(r"/admin/people/[0-9a-f-]{36}", location)
    async with services.sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert (user.role, user.display_name, user.time_zone) == (
        "therapist",
        "Jordan Lee, DPT",
        "Europe/London",
    )
    assert location == f"/admin/people/{user.id}"
    person_page = await client.get(location)
    assert person_page.status == 200
    assert "Jordan Lee, DPT" in await person_page.text()


async def test_admin_form_errors_are_shown_on_the_form(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf_from_page(client, "/admin/people/new")
    response = await client.post(
        "/admin/people",
        data={
            "csrf_token": token,
            "role": "patient",
            "display_name": "Short Pass",
            "email": "short@example.test",
            "password": "short",
        },
    )
    assert response.status == 422
    page = await response.text()
    assert "at least 10 characters" in page
    assert "short@example.test" in page


async def test_admin_form_without_csrf_token_is_refused(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    response = await client.post(
        "/admin/people",
        data={
            "role": "admin",
            "display_name": "Forged",
            "email": "forged@example.test",
            "password": "long enough pass",
        },
        allow_redirects=False,
    )
    assert response.status == 403


async def test_admin_deactivates_a_patient_through_the_person_page(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    await sign_in(client, admin)
    token = await csrf_from_page(client, f"/admin/people/{patient.id}")
    response = await client.post(
        f"/admin/people/{patient.id}/active",
        data={"csrf_token": token, "active": "0"},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await client.get(f"/admin/people/{patient.id}")).text()
    assert "Deactivated" in page
    assert "Reactivate" in page
    client.session.cookie_jar.clear()
    attempt = await client.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    assert attempt.status == 401


async def test_person_page_has_no_self_deactivation_button(
    client: TestClient, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    page = await (await client.get(f"/admin/people/{admin.id}")).text()
    assert f"/admin/people/{admin.id}/active" not in page


async def test_admin_pages_are_not_for_patients(client: TestClient, people: People) -> None:
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    await sign_in(client, patient)
    for path, expected in (
        ("/admin/audit", 403),
        ("/admin/audit.csv", 403),
        (f"/admin/people/{other.id}", 403),
        (f"/admin/people/{patient.id}", 403),
        ("/admin/people/new", 403),
        ("/admin/people/not-a-uuid", 404),
    ):
        response = await client.get(path)
        assert response.status == expected, path
        assert response.content_type == "text/html", path
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        assert "Error" in page
        assert other.email not in page


async def test_admin_audit_page_renders(client: TestClient, people: People) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    response = await client.get("/admin/audit?action=login.success")
    assert response.status == 200
    assert "Signed in" in await response.text()
    bad_filter = await client.get("/admin/audit?outcome=sideways&limit=zero")
    assert bad_filter.status == 400
    page = await bad_filter.text()
    assert "could not be used" in page
    assert "Outcome: choose" in page and "Unknown filter: limit." in page


async def test_self_registration_is_off_by_default(client: TestClient) -> None:
    assert (await client.get("/register")).status == 404
    token = await csrf_from_page(client, "/login")
    form = await client.post(
        "/register",
        data={"csrf_token": token, "email": "x@example.test", "password": "long enough pass"},
    )
    assert form.status == 404
    api = await client.post(
        "/api/v1/auth/register",
        json={"email": "self@example.test", "display_name": "Self", "password": "long enough pass"},
    )
    assert api.status == 404


async def test_self_registration_when_enabled(
    aiohttp_client: Any, tmp_path: Path, database_url: str, clock: ManualClock
) -> None:
    app = create_app(base_settings(tmp_path, database_url, self_registration=True), clock)
    client: TestClient = await aiohttp_client(app)
    assert "/register" in await (await client.get("/login")).text()
    token = await csrf_from_page(client, "/register")
    email = f"self-{uuid.uuid4().hex[:6]}@example.test"
    response = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "display_name": "Robin Self",
            "email": email,
            "phone": "",
            "time_zone": "",
            "password": "my own password",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    home = await client.get("/")
    assert home.status == 200
    assert "Hello, Robin" in await home.text()
    async with client.app[SERVICES].sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.role == Role.PATIENT.value
    assert user.time_zone == "America/New_York"
