"""Guests of a video visit: the therapist or the patient invites a caregiver or interpreter by a
link bound to that one visit; at most two; the guest acknowledges a notice, gets a ticket and
waits to be admitted; a revoked, expired or unknown link is refused, and a revoked guest is taken
out of the room."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from signaling import CloseCode
from signaling.client import ChannelClosed, SignalingChannel
from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import assert_error_shape, csrf_from_page, sign_in
from tests.integration.visits.support import ORIGIN, pair, ticket_for, virtual_visit

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


async def _invite(
    client: TestClient,
    person: Person,
    visit: uuid.UUID,
    name: str = "Ana Daughter",
    role: str = "caregiver",
) -> dict[str, Any]:
    headers = await login(client, person)
    response = await client.post(
        f"/api/v1/visits/{visit}/guests",
        json={"display_name": name, "role": role},
        headers=headers,
    )
    assert response.status == 201, await response.text()
    client.session.cookie_jar.clear()
    body: dict[str, Any] = await response.json()
    return body


def _path(invite: dict[str, Any]) -> str:
    path = "/" + str(invite["url"]).split("/", 3)[3]
    assert re.fullmatch(r"/guest/[A-Za-z0-9_-]{43}", path), path
    return path


async def _acknowledge(client: TestClient, path: str) -> None:
    """Open the link and acknowledge its notice, as a browser without an account does."""
    client.session.cookie_jar.clear()
    page = await client.get(path)
    assert page.status == 200, await page.text()
    token = _CSRF_FIELD.search(await page.text())
    assert token is not None
    done = await client.post(
        path, data={"csrf_token": token.group(1), "acknowledge": "yes"}, allow_redirects=False
    )
    assert (done.status, done.headers.get("Location")) == (303, f"{path}/visit")


async def _guest_ticket(client: TestClient, path: str) -> str:
    response = await client.post(f"/api/v1{path}/ticket")
    assert response.status == 201, await response.text()
    return str((await response.json())["ticket"])


async def _actions(services: Services, action: str) -> list[AuditEvent]:
    async with services.sessions() as session:
        return list(
            (await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()
        )


async def test_the_patient_invites_and_the_therapist_sees_and_revokes(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    made = await _invite(client, patient, visit, "Ana Daughter", "caregiver")
    assert made["display_name"] == "Ana Daughter" and made["role"] == "caregiver"
    # Until the room closes: 30 minutes after the 45-minute visit.
    assert made["expires_at"].startswith(
        (clock.now() + timedelta(minutes=80)).strftime("%Y-%m-%dT%H:%M")
    )
    _path(made)

    headers = await login(client, therapist)
    listed = await (await client.get(f"/api/v1/visits/{visit}/guests", headers=headers)).json()
    assert [g["display_name"] for g in listed["guests"]] == ["Ana Daughter"]
    assert listed["may_invite"] is True
    # The link is shown once only.
    assert listed["guests"][0]["url"] is None

    revoked = await client.delete(f"/api/v1/visits/{visit}/guests/{made['id']}", headers=headers)
    assert revoked.status == 200, await revoked.text()
    assert (await revoked.json())["revoked_at"] is not None
    # Twice changes nothing.
    again = await client.delete(f"/api/v1/visits/{visit}/guests/{made['id']}", headers=headers)
    assert again.status == 200
    assert len(await _actions(services, "visit.guest_invited")) == 1
    assert len(await _actions(services, "visit.guest_revoked")) == 1


async def test_only_the_visits_therapist_and_patient_see_its_guests(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    made = await _invite(client, therapist, visit)
    others = [
        await people.make(Role.PATIENT, "Other Patient"),
        await people.make(Role.THERAPIST, "Other Therapist"),
        await people.make(Role.ADMIN, "Ada Admin"),
    ]
    for other in others:
        headers = await login(client, other)
        for response in (
            await client.get(f"/api/v1/visits/{visit}/guests", headers=headers),
            await client.post(
                f"/api/v1/visits/{visit}/guests",
                json={"display_name": "Eve", "role": "other"},
                headers=headers,
            ),
            await client.delete(f"/api/v1/visits/{visit}/guests/{made['id']}", headers=headers),
        ):
            await assert_error_shape(response, 404, "not_found")
    # A guest id of another visit is not found in this one.
    second = await virtual_visit(services, patient, therapist, clock.now() + timedelta(days=2))
    headers = await login(client, patient)
    response = await client.delete(f"/api/v1/visits/{second}/guests/{made['id']}", headers=headers)
    await assert_error_shape(response, 404, "not_found")
    # Signed out: 401.
    client.session.cookie_jar.clear()
    response = await client.get(f"/api/v1/visits/{visit}/guests")
    assert response.status == 401


async def test_at_most_two_guests_even_when_invited_at_once(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    patient_headers = await login(client, patient)
    therapist_headers = await login(client, therapist)

    async def invite(headers: dict[str, str], n: int) -> int:
        response = await client.post(
            f"/api/v1/visits/{visit}/guests",
            json={"display_name": f"Guest {n}", "role": "interpreter"},
            headers=headers,
        )
        if response.status == 409:
            await assert_error_shape(response, 409, "too_many_guests")
        return response.status

    statuses = await asyncio.gather(
        *(invite(patient_headers if n % 2 else therapist_headers, n) for n in range(6))
    )
    assert sorted(statuses) == [201, 201, 409, 409, 409, 409]
    listed = await (
        await client.get(f"/api/v1/visits/{visit}/guests", headers=patient_headers)
    ).json()
    assert len(listed["guests"]) == 2 and listed["may_invite"] is False
    # Revoking one frees a place.
    first = listed["guests"][0]["id"]
    await client.delete(f"/api/v1/visits/{visit}/guests/{first}", headers=patient_headers)
    assert await invite(patient_headers, 7) == 201
    assert await invite(patient_headers, 8) == 409
    refused = await _actions(services, "visit.guest_refused")
    assert {(r.details or {}).get("reason") for r in refused} == {"too_many_guests"}


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "Ana\x00", "role": "caregiver"},
        {"display_name": "", "role": "caregiver"},
        {"display_name": "A" * 81, "role": "caregiver"},
        {"display_name": "Ana", "role": "boss"},
        {"display_name": "Ana"},
        {"display_name": ["Ana"], "role": "other"},
    ],
)
async def test_malformed_invitations_are_refused_in_words(
    client: TestClient,
    services: Services,
    people: People,
    clock: ManualClock,
    body: dict[str, Any],
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    headers = await login(client, patient)
    response = await client.post(f"/api/v1/visits/{visit}/guests", json=body, headers=headers)
    assert response.status == 422, await response.text()
    raw = await client.post(
        f"/api/v1/visits/{visit}/guests",
        data=b'{"display_name": "An',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert raw.status == 400
    # A guest id that is not a UUID is not found.
    response = await client.delete(f"/api/v1/visits/{visit}/guests/not-a-uuid", headers=headers)
    assert response.status in (404, 422)


async def test_the_invite_form_keeps_what_was_typed_when_it_refuses(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    await sign_in(client, patient)
    page = f"/visits/{visit}/guests"
    token = await csrf_from_page(client, page)
    # A NUL byte is refused in words, as on every form of the site.
    refused = await client.post(
        page, data={"csrf_token": token, "display_name": "Ana\x00 Daughter", "role": "interpreter"}
    )
    assert refused.status == 422
    assert "display_name" in await refused.text()
    # A name too long: the form again, with what was typed.
    long_name = "Ana " + "B" * 90
    refused = await client.post(
        page, data={"csrf_token": token, "display_name": long_name, "role": "interpreter"}
    )
    assert refused.status == 422
    text = await refused.text()
    assert 'role="alert"' in text and f'value="{long_name}"' in text
    assert '<option value="interpreter" selected>' in text
    made = await client.post(
        page, data={"csrf_token": token, "display_name": "Ana Daughter", "role": "caregiver"}
    )
    assert made.status == 201
    text = await made.text()
    assert "/guest/" in text and "Copy the link" in text
    invite_id = re.search(r"/guests/([0-9a-f-]{36})/revoke", text)
    assert invite_id is not None
    gone = await client.post(
        f"{page}/{invite_id.group(1)}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert (gone.status, gone.headers["Location"]) == (303, page)
    # Without the CSRF token the form is refused.
    forged = await client.post(page, data={"display_name": "Eve", "role": "other"})
    assert forged.status == 403


async def test_a_guest_reads_the_notice_before_a_ticket(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    path = _path(await _invite(client, patient, visit, "Ana Daughter"))

    page = await client.get(path)
    text = await page.text()
    assert page.status == 200 and "Nothing is recorded" in text and "Ana Daughter" in text
    # The visit page and a ticket wait for the acknowledgement.
    early = await client.get(f"{path}/visit", allow_redirects=False)
    assert (early.status, early.headers["Location"]) == (303, path)
    response = await client.post(f"/api/v1{path}/ticket")
    await assert_error_shape(response, 409, "notice_required")
    # The box must be ticked.
    token = _CSRF_FIELD.search(text)
    assert token is not None
    unticked = await client.post(path, data={"csrf_token": token.group(1)})
    assert unticked.status == 422 and "tick the box" in await unticked.text()
    forged = await client.post(path, data={"acknowledge": "yes"})
    assert forged.status == 403

    await _acknowledge(client, path)
    room = await client.get(f"{path}/visit")
    assert room.status == 200
    room_text = await room.text()
    assert 'data-guest-token="' in room_text and "Video visit of Pat Patient" in room_text
    ticket = await _guest_ticket(client, path)
    assert ticket.startswith("guest.")
    assert [e.action for e in await _actions(services, "visit.guest_acknowledged")]


@pytest.mark.parametrize("token", ["A" * 43, "x", "A" * 500, "%00abc", "..%2F..%2Fetc"], ids=str)
async def test_unknown_links_say_so(client: TestClient, token: str) -> None:
    for path in (f"/guest/{token}", f"/guest/{token}/visit"):
        page = await client.get(path)
        assert page.status == 404, path
        assert "We do not know this link" in await page.text()
    response = await client.post(f"/api/v1/guest/{token}/ticket")
    assert response.status == 404


async def test_revoked_and_expired_links_are_gone(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    revoked = await _invite(client, patient, visit, "Ana")
    kept = await _invite(client, patient, visit, "Ivo", "interpreter")
    headers = await login(client, patient)
    await client.delete(f"/api/v1/visits/{visit}/guests/{revoked['id']}", headers=headers)
    client.session.cookie_jar.clear()

    page = await client.get(_path(revoked))
    assert page.status == 410 and "This invitation has ended" in await page.text()
    response = await client.post(f"/api/v1{_path(revoked)}/ticket")
    await assert_error_shape(response, 410, "guest_link_gone")

    await _acknowledge(client, _path(kept))
    # The room closes 30 minutes after the planned end, and the invitation with it.
    clock.advance(timedelta(minutes=5 + 45 + 30))
    page = await client.get(_path(kept))
    assert page.status == 410
    response = await client.post(f"/api/v1{_path(kept)}/ticket")
    await assert_error_shape(response, 410, "guest_link_gone")
    reasons = {
        (e.details or {}).get("reason") for e in await _actions(services, "visit.guest_refused")
    }
    assert {"revoked", "expired"} <= reasons


async def _open(
    http: aiohttp.ClientSession, client: TestClient, visit: uuid.UUID, ticket: str
) -> SignalingChannel:
    channel = SignalingChannel(http, str(client.make_url(f"/signaling/v1/{visit}")), ORIGIN)
    await channel.hello(ticket)
    return channel


async def _lobby_with(channel: SignalingChannel, count: int) -> list[dict[str, Any]]:
    while True:
        lobby = await channel.receive_type("lobby")
        if len(lobby["waiting"]) == count:
            return list(lobby["waiting"])


async def test_a_guest_waits_is_admitted_and_is_taken_out_when_revoked(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    invite = await _invite(client, patient, visit, "Ana Daughter", "caregiver")
    path = _path(invite)
    async with aiohttp.ClientSession() as http:
        therapist_ch = await _open(
            http, client, visit, await ticket_for(client, therapist, visit, consent=False)
        )
        await therapist_ch.send("join")
        await therapist_ch.receive_type("admitted")
        patient_ch = await _open(http, client, visit, await ticket_for(client, patient, visit))
        await patient_ch.send("join")
        await patient_ch.receive_type("waiting")
        [waiting] = await _lobby_with(therapist_ch, 1)
        await therapist_ch.send("admit", participant=waiting["participant"])
        await patient_ch.receive_type("admitted")

        await _acknowledge(client, path)
        ticket = await _guest_ticket(client, path)
        # A guest's ticket works at its own room's URL only, and only once.
        other = await virtual_visit(services, patient, therapist, clock.now() + timedelta(days=3))
        with pytest.raises(ChannelClosed) as wrong_room:
            await _open(http, client, other, ticket)
        assert wrong_room.value.code == CloseCode.UNAUTHORIZED
        guest_ch = await _open(http, client, visit, ticket)
        assert guest_ch.welcome is not None
        assert guest_ch.welcome.role == "guest"
        with pytest.raises(ChannelClosed) as reused:
            await _open(http, client, visit, ticket)
        assert reused.value.code == CloseCode.UNAUTHORIZED

        await guest_ch.send("join")
        await guest_ch.receive_type("waiting")
        [waiting] = await _lobby_with(therapist_ch, 1)
        assert waiting["display_name"] == "Ana Daughter (caregiver)"
        await therapist_ch.send("admit", participant=waiting["participant"])
        admitted = await guest_ch.receive_type("admitted")
        assert {p["role"] for p in admitted["participants"]} >= {"host", "guest"}
        assert len(admitted["participants"]) == 2

        # The patient revokes her; the room takes her out.
        headers = await login(client, patient)
        response = await client.delete(
            f"/api/v1/visits/{visit}/guests/{invite['id']}", headers=headers
        )
        assert response.status == 200
        with pytest.raises(ChannelClosed):
            while True:
                await guest_ch.receive()
        assert guest_ch.close_code == CloseCode.REVOKED
        while True:
            presence = await therapist_ch.receive_type("presence")
            if presence["presence"] == "left":
                break
        assert presence["participant"] == waiting["participant"]
        # Her resume is refused, and so is a new ticket.
        with pytest.raises(ChannelClosed):
            await guest_ch.resume()
        client.session.cookie_jar.clear()
        response = await client.post(f"/api/v1{path}/ticket")
        await assert_error_shape(response, 410, "guest_link_gone")
        await patient_ch.close()
        await therapist_ch.close()

    revocations = await _actions(services, "visit.access_revoked")
    assert [(r.details or {}) for r in revocations] == [
        {"guest_id": invite["id"], "reason": "guest_revoked"}
    ]
    assert len(await _actions(services, "visit.guest_join")) == 1
    assert len(await _actions(services, "visit.guest_admit")) == 1
    # The guest moved nothing: the appointment follows the patient.
    assert [e.action for e in await _actions(services, "appointment.start")] == [
        "appointment.start"
    ]


async def test_an_invitation_follows_its_visit_when_the_visit_moves(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    from tests.integration.scheduling.support import set_hours, utc

    patient, therapist = await pair(people)
    await set_hours(services, therapist.user)  # weekdays in New York; the clock is Mon 09:00
    visit = await virtual_visit(services, patient, therapist, utc(2026, 3, 2, 16))
    invite = await _invite(client, patient, visit, "Ana")
    headers = await login(client, therapist)
    current = await (await client.get(f"/api/v1/appointments/{visit}", headers=headers)).json()
    moved = await client.post(
        f"/api/v1/appointments/{visit}/reschedule",
        json={"start": "2026-03-04T16:00:00Z", "version": current["version"]},
        headers=headers,
    )
    assert moved.status == 200, await moved.text()
    client.session.cookie_jar.clear()

    # Past the room's close as it stood when she was invited: the link still stands.
    clock.advance(timedelta(hours=5))
    assert (await client.get(_path(invite))).status == 200
    # In the moved visit's window she gets her ticket; after its close, the link has ended.
    clock.set(utc(2026, 3, 4, 15, 55))
    await _acknowledge(client, _path(invite))
    assert await _guest_ticket(client, _path(invite))
    clock.set(utc(2026, 3, 4, 17, 20))
    assert (await client.get(_path(invite))).status == 410
