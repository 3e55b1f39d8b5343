"""A person changes their own name, phone and time zone: through the API and the page, refused in
plain words when wrong (keeping what was typed), audited, and only ever their own."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role, User
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import People, login
from tests.integration.helpers import assert_error_shape, csrf_from_page, sign_in


async def _stored(services: Services, person_id: object) -> User:
    async with services.sessions() as session:
        user = await session.scalar(select(User).where(User.id == person_id))
        assert user is not None
        return user


async def test_the_api_changes_only_my_own_details(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    other = await people.make(Role.PATIENT, "Other Patient")
    headers = await login(client, patient)
    answer = await client.patch(
        "/api/v1/me",
        json={"phone": " +1 555 0100 ", "time_zone": "Europe/London"},
        headers=headers,
    )
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert body["user"]["phone"] == "+1 555 0100"
    assert body["user"]["time_zone"] == "Europe/London"
    assert body["user"]["display_name"] == "Pat Patient"  # left out, left alone
    stored = await _stored(services, patient.id)
    assert (stored.phone, stored.time_zone) == ("+1 555 0100", "Europe/London")
    assert (await _stored(services, other.id)).time_zone == "America/New_York"

    # An empty phone removes it.
    cleared = await client.patch("/api/v1/me", json={"phone": ""}, headers=headers)
    assert (await cleared.json())["user"]["phone"] is None

    for bad, field in (
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "Pat\u0000"}, "display_name"),
        ({"phone": "x" * 33}, "phone"),
    ):
        refused = await assert_error_shape(
            await client.patch("/api/v1/me", json=bad, headers=headers), 422
        )
        assert field in str(refused), (bad, refused)
    assert (await _stored(services, patient.id)).display_name == "Pat Patient"

    async with services.sessions() as session:
        audited = list(
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "account.update", AuditEvent.patient_id == patient.id
                )
            )
        )
    assert [e.details for e in audited] == [
        {"fields": ["time_zone", "phone"], "self": True},
        {"fields": ["phone"], "self": True},
    ]


async def test_the_page_saves_and_keeps_what_was_typed_when_refused(
    client: TestClient, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    await sign_in(client, patient)
    home = await (await client.get("/")).text()
    assert 'href="/me/details"' in home
    token = await csrf_from_page(client, "/me/details")

    refused = await client.post(
        "/me/details",
        data={
            "csrf_token": token,
            "display_name": "Patricia Patient",
            "phone": "+1 555 0199",
            "time_zone": "Nowhere/Town",
        },
    )
    assert refused.status == 422
    page = await refused.text()
    assert "unknown time zone" in page
    assert 'value="Patricia Patient"' in page and 'value="+1 555 0199"' in page

    saved = await client.post(
        "/me/details",
        data={
            "csrf_token": token,
            "display_name": "Patricia Patient",
            "phone": "+1 555 0199",
            "time_zone": "America/Chicago",
        },
        allow_redirects=False,
    )
    assert (saved.status, saved.headers["Location"]) == (303, "/me/details?saved=1")
    page = await (await client.get("/me/details?saved=1")).text()
    assert "Your details are saved." in page
    assert '<option value="America/Chicago" selected>' in page
    home = await (await client.get("/")).text()
    assert "Patricia Patient" in home and "America/Chicago".replace("_", " ") in home

    # Without the form's token, nothing is saved.
    forged = await client.post(
        "/me/details",
        data={"display_name": "Mallory", "phone": "", "time_zone": "UTC"},
    )
    assert forged.status == 403
    assert "Mallory" not in await (await client.get("/")).text()


async def test_signed_out_the_details_page_asks_to_sign_in(client: TestClient) -> None:
    page = await client.get("/me/details", allow_redirects=False)
    assert page.status in (303, 401)
