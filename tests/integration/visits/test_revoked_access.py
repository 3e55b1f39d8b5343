"""When a person's access ends (deactivated, signed out everywhere, taken off the care team), their
live visit sockets close with 4007 within 1 s on every instance, their resume id is refused, a new
ticket is refused, and the revocation is audited."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from signaling import CloseCode
from signaling.client import ChannelClosed, SignalingChannel
from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.helpers import csrf_from_page, sign_in
from tests.integration.visits.support import ORIGIN, pair, ticket_for, virtual_visit
from tests.services import REDIS_URL, service_missing, tcp_reachable

# The figure the issue states, from the API's answer to the close frame: printed beside the
# measurement (run with -s), never asserted, since a shared machine's timing is not behaviour.
CLOSE_WITHIN_SECONDS = 1.0
# How long a test waits for the close at all.
WAIT_SECONDS = 30.0


@dataclass
class Watched:
    """A channel read until the server closes it, with when that happened."""

    channel: SignalingChannel
    task: asyncio.Task[float]

    async def closed_after(self, action_done: float) -> float:
        """Seconds from `action_done` (monotonic) to the close frame (0 when it came first)."""
        closed_at = await asyncio.wait_for(self.task, WAIT_SECONDS)
        return max(0.0, closed_at - action_done)


def watch(channel: SignalingChannel) -> Watched:
    async def until_closed() -> float:
        try:
            while True:
                await channel.receive()
        except ChannelClosed:
            return time.monotonic()

    return Watched(channel, asyncio.create_task(until_closed()))


async def _open(
    http: aiohttp.ClientSession, client: TestClient, visit: uuid.UUID, ticket: str
) -> SignalingChannel:
    channel = SignalingChannel(http, str(client.make_url(f"/signaling/v1/{visit}")), ORIGIN)
    await channel.hello(ticket)
    return channel


async def _in_the_visit(
    http: aiohttp.ClientSession,
    therapist_client: TestClient,
    patient_client: TestClient,
    visit: uuid.UUID,
    patient: Person,
    therapist: Person,
) -> tuple[SignalingChannel, SignalingChannel]:
    """The therapist and the admitted patient in the room: (therapist's, patient's) channel."""
    therapist_ch = await _open(
        http,
        therapist_client,
        visit,
        await ticket_for(therapist_client, therapist, visit, consent=False),
    )
    patient_ch = await _open(
        http, patient_client, visit, await ticket_for(patient_client, patient, visit)
    )
    await therapist_ch.send("join")
    await therapist_ch.receive_type("admitted")
    await patient_ch.send("join")
    await patient_ch.receive_type("waiting")
    while True:
        lobby = await therapist_ch.receive_type("lobby")
        if lobby["waiting"]:
            break
    await therapist_ch.send("admit", participant=lobby["waiting"][0]["participant"])
    await patient_ch.receive_type("admitted")
    return therapist_ch, patient_ch


async def _left(channel: SignalingChannel) -> dict[str, Any]:
    """The next `presence: left` on a channel."""
    while True:
        presence = await channel.receive_type("presence")
        if presence["presence"] == "left":
            return presence


async def _refused_resume(channel: SignalingChannel) -> int | None:
    with pytest.raises(ChannelClosed) as refused:
        await channel.resume()
    return refused.value.code


async def _refused_hello(
    http: aiohttp.ClientSession, client: TestClient, visit: uuid.UUID, ticket: str
) -> int | None:
    with pytest.raises(ChannelClosed) as refused:
        await _open(http, client, visit, ticket)
    return refused.value.code


async def _revocations(services: Services, visit: uuid.UUID) -> list[dict[str, Any]]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "visit.access_revoked",
                AuditEvent.resource_id == str(visit),
            )
        )
        return [dict(row.details or {}) for row in rows]


async def _actions(services: Services, action: str) -> list[AuditEvent]:
    async with services.sessions() as session:
        return list(
            (await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()
        )


async def _admin_headers(client: TestClient, people: People) -> dict[str, str]:
    return await login(client, await people.make(Role.ADMIN, "Ada Admin"))


async def test_deactivation_closes_the_patients_socket_and_refuses_her_resume(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        spare_ticket = await ticket_for(client, patient, visit)
        watched = watch(patient_ch)
        admin = await _admin_headers(client, people)

        response = await client.patch(
            f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin
        )
        answered = time.monotonic()
        assert response.status == 200, await response.text()

        elapsed = await watched.closed_after(answered)
        print(f"closed {elapsed:.3f} s after the answer (target {CLOSE_WITHIN_SECONDS} s)")
        assert patient_ch.close_code == CloseCode.REVOKED
        # The therapist sees her leave.
        left = await asyncio.wait_for(_left(therapist_ch), WAIT_SECONDS)
        assert left["role"] == "guest"
        # Her resume id is refused, and so is a ticket she fetched before.
        assert await _refused_resume(patient_ch) == CloseCode.REVOKED
        assert await _refused_hello(http, client, visit, spare_ticket) == CloseCode.UNAUTHORIZED
        await therapist_ch.close()

    assert await _revocations(services, visit) == [
        {"user_id": str(patient.id), "reason": "deactivated"}
    ]
    refused_tickets = await _actions(services, "visit.ticket_refused")
    assert [(r.details or {}).get("reason") for r in refused_tickets] == ["inactive_user"]
    assert [r.resource_id for r in await _actions(services, "visit.resume_refused")] == [str(visit)]


async def test_deactivation_on_the_admin_page_closes_the_socket_too(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        watched = watch(patient_ch)
        await sign_in(client, await people.make(Role.ADMIN, "Ada Admin"))
        token = await csrf_from_page(client, f"/admin/people/{patient.id}")

        response = await client.post(
            f"/admin/people/{patient.id}/active",
            data={"csrf_token": token, "active": "0"},
            allow_redirects=False,
        )
        answered = time.monotonic()
        assert response.status == 303

        elapsed = await watched.closed_after(answered)
        print(f"closed {elapsed:.3f} s after the answer (target {CLOSE_WITHIN_SECONDS} s)")
        assert patient_ch.close_code == CloseCode.REVOKED
        assert await _refused_resume(patient_ch) == CloseCode.REVOKED
        await therapist_ch.close()

    assert await _revocations(services, visit) == [
        {"user_id": str(patient.id), "reason": "deactivated"}
    ]


@pytest.mark.parametrize("who", ["admin", "self"])
async def test_ending_every_session_closes_visit_sockets(
    client: TestClient, people: People, services: Services, clock: ManualClock, who: str
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        # A ticket fetched by one of the sessions that are about to end.
        unused_ticket = await ticket_for(client, patient, visit)
        patient_headers = await login(client, patient)
        watched = watch(patient_ch)

        if who == "admin":
            admin = await _admin_headers(client, people)
            response = await client.delete(f"/api/v1/users/{patient.id}/sessions", headers=admin)
        else:
            response = await client.post("/api/v1/auth/logout-everywhere", headers=patient_headers)
        answered = time.monotonic()
        assert response.status == 204, await response.text()

        elapsed = await watched.closed_after(answered)
        print(f"closed {elapsed:.3f} s after the answer (target {CLOSE_WITHIN_SECONDS} s)")
        assert patient_ch.close_code == CloseCode.REVOKED
        # The session is gone from the room: its resume id is unknown now.
        assert await _refused_resume(patient_ch) == CloseCode.RESUME_FAILED
        assert await _refused_hello(http, client, visit, unused_ticket) == CloseCode.UNAUTHORIZED
        # Signed out: the old bearer token no longer fetches tickets.
        again = await client.post(f"/api/v1/visits/{visit}/ticket", headers=patient_headers)
        assert again.status == 401
        # Signing in again lets her back into the visit.
        back = await _open(http, client, visit, await ticket_for(client, patient, visit))
        await back.close()
        await therapist_ch.close()

    assert await _revocations(services, visit) == [
        {"user_id": str(patient.id), "reason": "sessions_ended"}
    ]


async def test_care_team_removal_closes_the_pairs_sockets(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        therapist_ch, patient_ch = await _in_the_visit(
            http, client, client, visit, patient, therapist
        )
        watched = [watch(therapist_ch), watch(patient_ch)]
        admin = await _admin_headers(client, people)

        response = await client.delete(
            f"/api/v1/patients/{patient.id}/care-team/{therapist.id}", headers=admin
        )
        answered = time.monotonic()
        assert response.status == 204, await response.text()

        for one in watched:
            elapsed = await one.closed_after(answered)
            print(f"closed {elapsed:.3f} s after the answer (target {CLOSE_WITHIN_SECONDS} s)")
            assert one.channel.close_code == CloseCode.REVOKED
        assert await _refused_resume(patient_ch) == CloseCode.REVOKED
        assert await _refused_resume(therapist_ch) == CloseCode.REVOKED
        patient_headers = await login(client, patient)
        refused = await client.post(f"/api/v1/visits/{visit}/ticket", headers=patient_headers)
        assert refused.status == 409
        assert (await refused.json())["error"]["code"] == "not_on_care_team"

    revoked = await _revocations(services, visit)
    assert sorted(r["user_id"] for r in revoked) == sorted([str(patient.id), str(therapist.id)])
    assert {r["reason"] for r in revoked} == {"care_team_removed"}


async def test_deactivation_on_one_instance_closes_a_socket_on_another(
    aiohttp_client: Any, settings: Settings, clock: ManualClock
) -> None:
    redis = urlsplit(REDIS_URL)
    if not tcp_reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        service_missing("Redis", f"nothing listens at {REDIS_URL}")
    shared = replace(settings, redis_url=REDIS_URL)
    first_app = create_app(shared, clock)
    first: TestClient = await aiohttp_client(first_app)
    second: TestClient = await aiohttp_client(create_app(shared, clock))
    services = first_app[SERVICES]
    people = People(services)
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    async with aiohttp.ClientSession() as http:
        # The patient is on the second instance; the admin deactivates her on the first.
        therapist_ch, patient_ch = await _in_the_visit(
            http, first, second, visit, patient, therapist
        )
        watched = watch(patient_ch)
        admin = await _admin_headers(first, people)

        response = await first.patch(
            f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin
        )
        answered = time.monotonic()
        assert response.status == 200, await response.text()

        elapsed = await watched.closed_after(answered)
        print(f"closed {elapsed:.3f} s after the answer (target {CLOSE_WITHIN_SECONDS} s)")
        assert patient_ch.close_code == CloseCode.REVOKED
        # Refused on either instance.
        assert await _refused_resume(patient_ch) == CloseCode.REVOKED
        elsewhere = SignalingChannel(http, str(first.make_url(f"/signaling/v1/{visit}")), ORIGIN)
        elsewhere.welcome = patient_ch.welcome
        assert await _refused_resume(elsewhere) == CloseCode.REVOKED
        left = await asyncio.wait_for(_left(therapist_ch), WAIT_SECONDS)
        assert left["role"] == "guest"
        await therapist_ch.close()

    assert await _revocations(services, visit) == [
        {"user_id": str(patient.id), "reason": "deactivated"}
    ]
