"""Join links: a patient who cannot sign in still reaches her visit, once, in its window, and
nobody else gets anything from a link that is not theirs or no longer valid."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape
from tests.integration.visits.support import pair, virtual_visit

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


async def _link(client: TestClient, staff: Person, visit: uuid.UUID) -> dict[str, Any]:
    headers = await login(client, staff)
    response = await client.post(f"/api/v1/visits/{visit}/join-link", headers=headers)
    assert response.status == 201, await response.text()
    client.session.cookie_jar.clear()
    body: dict[str, Any] = await response.json()
    return body


def _path(link: dict[str, Any]) -> str:
    path = "/" + str(link["url"]).split("/", 3)[3]
    assert re.fullmatch(r"/join/[A-Za-z0-9_-]{43}", path), path
    return path


async def _open(client: TestClient, path: str) -> tuple[int, str]:
    """Open the link as a browser would: the page, then its button."""
    page = await client.get(path)
    text = await page.text()
    if page.status != 200:
        return page.status, text
    token = _CSRF_FIELD.search(text)
    assert token is not None
    spent = await client.post(path, data={"csrf_token": token.group(1)}, allow_redirects=False)
    return spent.status, spent.headers.get("Location", await spent.text())


async def _actions(services: Services, prefix: str) -> list[AuditEvent]:
    async with services.sessions() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)))
        return list(rows)


async def test_a_link_signs_the_patient_in_once_and_opens_her_visit(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(days=1))
    link = await _link(client, therapist, visit)
    assert link["appointment_id"] == str(visit)
    # It lasts until the room closes: 30 minutes after the 45-minute visit ends.
    assert link["expires_at"].startswith(
        (clock.now() + timedelta(days=1, minutes=75)).strftime("%Y-%m-%dT%H:%M")
    )
    path = _path(link)

    status, location = await _open(client, path)
    assert (status, location) == (303, f"/visits/{visit}")
    # Signed in as her: the visit page (a day early, it says when the room opens) and her home.
    page = await client.get(f"/visits/{visit}")
    assert page.status == 200
    text = await page.text()
    assert "The video room opens" in text and '<span id="opens-when">tomorrow at' in text
    me = await (await client.get("/")).text()
    assert patient.user.display_name.split()[0] in me

    # A second tap, even from another browser: refused, and the page says what to do.
    client.session.cookie_jar.clear()
    status, text = await _open(client, path)
    assert status == 410 and "This link can no longer be used" in text
    assert len(await _actions(services, "visit.join_link_used")) == 1
    assert len(await _actions(services, "visit.join_link_refused")) == 0  # the GET spends nothing
    created = await _actions(services, "visit.join_link_created")
    assert [e.patient_id for e in created] == [patient.id]
    logins = [e for e in await _actions(services, "login.success") if e.details]
    assert [e.details for e in logins if e.details.get("method") == "join_link"] == [
        {"method": "join_link"}
    ]


async def test_two_taps_at_once_open_one_session(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(hours=2))
    path = _path(await _link(client, therapist, visit))
    page = await client.get(path)
    token = _CSRF_FIELD.search(await page.text())
    assert token is not None
    answers = await asyncio.gather(
        *(
            client.post(path, data={"csrf_token": token.group(1)}, allow_redirects=False)
            for _ in range(6)
        )
    )
    assert sorted(a.status for a in answers) == [303] + [410] * 5
    assert len(await _actions(services, "visit.join_link_used")) == 1


async def test_a_link_ends_with_its_visit(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    start = clock.now() + timedelta(hours=1)
    expired = _path(
        await _link(client, therapist, await virtual_visit(services, patient, therapist, start))
    )
    later = clock.now() + timedelta(days=2)
    cancelled_visit = await virtual_visit(services, patient, therapist, later)
    cancelled = _path(await _link(client, therapist, cancelled_visit))
    deactivated_visit = await virtual_visit(
        services, patient, therapist, later + timedelta(hours=3)
    )
    deactivated = _path(await _link(client, therapist, deactivated_visit))

    # After the room closed (end + 30 min), the link is dead.
    clock.set(start + timedelta(minutes=45 + 30))
    assert (await _open(client, expired))[0] == 410
    # A cancelled visit cannot be opened by its link.
    admin = await people.make(Role.ADMIN)
    admin_h = await login(client, admin)
    cancel = await client.post(
        f"/api/v1/appointments/{cancelled_visit}/cancel", json={"reason": "ill"}, headers=admin_h
    )
    assert cancel.status == 200, await cancel.text()
    client.session.cookie_jar.clear()
    assert (await _open(client, cancelled))[0] == 410
    # Nor can a patient who was deactivated.
    admin_h = await login(client, admin)
    off = await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin_h
    )
    assert off.status == 200, await off.text()
    client.session.cookie_jar.clear()
    assert (await _open(client, deactivated))[0] == 410
    refused = await _actions(services, "visit.join_link_refused")
    assert sorted((e.details or {}).get("reason", "") for e in refused) == [
        "inactive_user",
        "visit_closed",
    ]


async def test_only_the_visits_therapist_or_an_admin_makes_a_link(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    other = await people.make(Role.THERAPIST, "Other Therapist")
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(hours=2))
    for who in (patient, other):
        headers = await login(client, who)
        answer = await client.post(f"/api/v1/visits/{visit}/join-link", headers=headers)
        await assert_error_shape(answer, 404, "not_found")
    admin = await people.make(Role.ADMIN)
    assert (await _link(client, admin, visit))["appointment_id"] == str(visit)
    in_clinic = await virtual_visit(
        services, patient, therapist, clock.now() + timedelta(days=1), modality="in_clinic"
    )
    headers = await login(client, therapist)
    answer = await client.post(f"/api/v1/visits/{in_clinic}/join-link", headers=headers)
    await assert_error_shape(answer, 409, "not_virtual")
    unknown = await client.post(f"/api/v1/visits/{uuid.uuid4()}/join-link", headers=headers)
    await assert_error_shape(unknown, 404, "not_found")


async def test_made_up_links_get_the_same_plain_refusal(client: TestClient) -> None:
    for path in (
        "/join/" + "A" * 43,
        "/join/%00%00",
        "/join/" + "x" * 5000,
        "/join/%F0%9F%92%A9",
    ):
        page = await client.get(path)
        assert page.status == 410, (path, page.status)
        assert "This link can no longer be used" in await page.text()
        posted = await client.post(path, data={"csrf_token": "nope"})
        assert posted.status in (403, 410), (path, posted.status)
