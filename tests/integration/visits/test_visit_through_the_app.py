"""A whole video visit through the real app: tickets, waiting room, aiortc media, lifecycle, audit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCIceServer
from sqlalchemy import select

from signaling.client import ChannelClosed, SignalingChannel, VisitPeer
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, login
from tests.integration.visits.support import ORIGIN, pair, status_of, ticket_for, virtual_visit

NO_ICE: list[RTCIceServer] = []


async def _channel(
    http: aiohttp.ClientSession, client: TestClient, appointment_id: object, ticket: str
) -> SignalingChannel:
    channel = SignalingChannel(
        http, str(client.make_url(f"/signaling/v1/{appointment_id}")), ORIGIN
    )
    await channel.hello(ticket)
    return channel


async def _until(predicate: Callable[[], Awaitable[bool]]) -> None:
    """Poll a condition in the database until it holds (at most 20 s)."""
    async with asyncio.timeout(20):
        # Polling on purpose: the change happens in the server's task; there is no event to await.
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_patient_and_therapist_complete_a_visit(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=10))
    patient_ticket = await ticket_for(client, patient, visit)
    therapist_ticket = await ticket_for(client, therapist, visit, consent=False)

    async with aiohttp.ClientSession() as http:
        therapist_ch = await _channel(http, client, visit, therapist_ticket)
        patient_ch = await _channel(http, client, visit, patient_ticket)
        assert therapist_ch.welcome is not None and patient_ch.welcome is not None
        assert therapist_ch.welcome.role == "host" and patient_ch.welcome.role == "guest"
        therapist_peer = VisitPeer(therapist_ch, ice_servers=NO_ICE)
        patient_peer = VisitPeer(patient_ch, ice_servers=NO_ICE)
        runs = [asyncio.create_task(therapist_peer.run()), asyncio.create_task(patient_peer.run())]
        try:
            # Joining the waiting room checked the patient in.
            await _until(lambda: _is(services, visit, "checked_in"))
            await _until(lambda: _has_lobby(therapist_peer))
            waiting = [e for e in therapist_peer.events if e["type"] == "lobby" and e["waiting"]][
                -1
            ]["waiting"][0]
            assert waiting["display_name"] == "Pat Patient"
            await therapist_ch.send("admit", participant=waiting["participant"])
            await asyncio.wait_for(patient_peer.first_frame.wait(), 30)
            await asyncio.wait_for(therapist_peer.first_frame.wait(), 30)
            await asyncio.wait_for(patient_peer.channel_open.wait(), 30)
            assert therapist_peer.data is not None
            therapist_peer.data.send("lift your left leg")
            assert await asyncio.wait_for(patient_peer.messages.get(), 30) == "lift your left leg"
            assert await status_of(services, visit) == "in_progress"
            await therapist_ch.send("end")
            await _until(lambda: _is(services, visit, "completed"))
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            # Side by side: one peer that cannot close must not leave the other open.
            await asyncio.gather(therapist_peer.close(), patient_peer.close())

    async with services.sessions() as session:
        actions = set(
            (
                await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.resource_id == str(visit))
                )
            ).all()
        )
    assert {
        "visit.join",
        "visit.admit",
        "visit.end",
        "appointment.check_in",
        "appointment.start",
        "appointment.complete",
    } <= actions


async def _is(services: Services, visit: uuid.UUID, status: str) -> bool:
    return await status_of(services, visit) == status


async def _has_lobby(peer: VisitPeer) -> bool:
    return any(e["type"] == "lobby" and e["waiting"] for e in peer.events)


async def _refused(
    client: TestClient, visit: object, ticket: str, origin: str = ORIGIN
) -> int | None:
    async with aiohttp.ClientSession() as http:
        channel = SignalingChannel(http, str(client.make_url(f"/signaling/v1/{visit}")), origin)
        try:
            await channel.hello(ticket)
        except ChannelClosed as closed:
            return closed.code
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        finally:
            await channel.close()
    return None


async def test_a_ticket_works_once(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    ticket = await ticket_for(client, patient, visit)
    async with aiohttp.ClientSession() as http:
        first = await _channel(http, client, visit, ticket)
        await first.close()
    assert await _refused(client, visit, ticket) == 4002


async def test_an_expired_ticket_is_refused(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    ticket = await ticket_for(client, patient, visit)
    clock.advance(timedelta(seconds=61))
    assert await _refused(client, visit, ticket) == 4002


async def test_a_ticket_for_another_room_is_refused(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    other = await virtual_visit(services, patient, therapist, clock.now() + timedelta(hours=3))
    ticket = await ticket_for(client, patient, visit)
    assert await _refused(client, other, ticket) == 4002
    # Refused without being used up: the patient who opened the wrong link still gets in.
    async with aiohttp.ClientSession() as http:
        channel = await _channel(http, client, visit, ticket)
        assert channel.welcome is not None and channel.welcome.room == str(visit)
        await channel.close()


async def test_metrics_describe_signaling(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    ticket = await ticket_for(client, patient, visit)
    async with aiohttp.ClientSession() as http:
        channel = await _channel(http, client, visit, ticket)
        await channel.send("join")
        await channel.receive_type("waiting")
        during = await (await client.get("/metrics")).text()
        await channel.close()
    assert "telehealth_signaling_connections 1.0" in during
    assert "telehealth_signaling_rooms 1.0" in during
    assert 'telehealth_signaling_frames_in_total{type="join"} 1.0' in during
    assert 'telehealth_signaling_frames_out_total{type="welcome"} 1.0' in during
    assert 'telehealth_signaling_frames_out_total{type="waiting"} 1.0' in during
    assert 'telehealth_signaling_bus_seconds_count{operation="update_room"}' in during
    async with asyncio.timeout(5):
        # The server notices the close in its own task; there is no event to await.
        while "telehealth_signaling_connections 0.0" not in (  # noqa: ASYNC110
            after := await (await client.get("/metrics")).text()
        ):
            await asyncio.sleep(0.02)
    assert 'telehealth_signaling_closes_total{code="1000"} 1.0' in after
    assert "telehealth_signaling_rooms 0.0" in after


async def test_a_foreign_origin_gets_no_socket(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    ticket = await ticket_for(client, patient, visit)
    assert await _refused(client, visit, ticket, origin="https://evil.example") == 403


async def test_forged_ticket_is_refused(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    assert await _refused(client, visit, "forged-ticket") == 4002


async def test_a_ticket_of_a_deactivated_person_is_refused_and_audited(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    from telehealth.accounts.models import Role

    patient, therapist = await pair(people)
    admin = await people.make(Role.ADMIN)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    ticket = await ticket_for(client, patient, visit)
    admin_headers = await login(client, admin)
    response = await client.patch(
        f"/api/v1/users/{patient.id}", json={"is_active": False}, headers=admin_headers
    )
    assert response.status == 200, await response.text()
    assert await _refused(client, visit, ticket) == 4002
    async with services.sessions() as session:
        refused = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "visit.ticket_refused",
                    AuditEvent.resource_id == str(visit),
                )
            )
        ).all()
    assert [(row.outcome, row.patient_id, row.details) for row in refused] == [
        ("denied", patient.id, {"reason": "inactive_user"})
    ]


@pytest.mark.parametrize(
    ("offset", "code"),
    [(timedelta(minutes=20), "too_early"), (timedelta(minutes=-80), "too_late")],
    ids=["before-window", "after-window"],
)
async def test_no_ticket_outside_the_window(
    client: TestClient,
    people: People,
    services: Services,
    clock: ManualClock,
    offset: timedelta,
    code: str,
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + offset)
    headers = await login(client, patient)
    consent = await (await client.get("/api/v1/consent", headers=headers)).json()
    await client.post("/api/v1/consent", json={"version": consent["version"]}, headers=headers)
    response = await client.post(f"/api/v1/visits/{visit}/ticket", headers=headers)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == code


async def test_the_patient_must_consent_first(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    headers = await login(client, patient)
    response = await client.post(f"/api/v1/visits/{visit}/ticket", headers=headers)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "consent_required"
    outdated = await client.post("/api/v1/consent", json={"version": "1999-01"}, headers=headers)
    assert outdated.status == 409


async def test_strangers_and_admins_cannot_enter(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    from telehealth.accounts.models import Role

    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    for stranger in (
        await people.make(Role.PATIENT),
        await people.make(Role.THERAPIST),
        await people.make(Role.ADMIN),
    ):
        headers = await login(client, stranger)
        assert (await client.post(f"/api/v1/visits/{visit}/ticket", headers=headers)).status == 404
        assert (await client.get(f"/api/v1/visits/{visit}", headers=headers)).status == 404
        assert (await client.get(f"/visits/{visit}", headers=headers)).status == 404


async def test_in_clinic_visits_have_no_room(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(
        services, patient, therapist, clock.now() + timedelta(minutes=5), modality="in_clinic"
    )
    headers = await login(client, therapist)
    response = await client.post(f"/api/v1/visits/{visit}/ticket", headers=headers)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "not_virtual"


async def test_the_therapist_entering_does_not_start_the_visit(
    client: TestClient, people: People, services: Services, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=10))
    patient_ticket = await ticket_for(client, patient, visit)
    therapist_ticket = await ticket_for(client, therapist, visit, consent=False)
    async with aiohttp.ClientSession() as http:
        # The patient waits first; then the therapist comes in (and is admitted, as hosts are).
        patient_ch = await _channel(http, client, visit, patient_ticket)
        await patient_ch.send("join")
        await patient_ch.receive_type("waiting")
        await _until(lambda: _is(services, visit, "checked_in"))
        therapist_ch = await _channel(http, client, visit, therapist_ticket)
        await therapist_ch.send("join")
        lobby = await therapist_ch.receive_type("lobby")
        assert lobby["waiting"], "the therapist sees the patient waiting"
        await _until(lambda: _has_audit(services, visit, "visit.admit", therapist.id))
        # Still only checked in: nobody has let the patient into the visit.
        assert await status_of(services, visit) == "checked_in"
        await patient_ch.close()
        await therapist_ch.close()


async def _has_audit(services: Services, visit: object, action: str, actor: object) -> bool:
    async with services.sessions() as session:
        found = await session.scalar(
            select(AuditEvent.seq).where(
                AuditEvent.resource_id == str(visit),
                AuditEvent.action == action,
                AuditEvent.actor_id == actor,
            )
        )
    return found is not None
