"""Two application instances sharing the database and Redis: the patient on one, the therapist on
the other, complete a visit; tickets issued by one instance are redeemed by the other."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from aiortc import RTCIceServer

from signaling.client import SignalingChannel, VisitPeer
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from tests.conftest import People
from tests.integration.visits.support import ORIGIN, pair, status_of, ticket_for, virtual_visit
from tests.services import REDIS_URL, service_missing, tcp_reachable

NO_ICE: list[RTCIceServer] = []


async def test_a_visit_across_two_instances(
    aiohttp_client: Any, settings: Settings, clock: ManualClock
) -> None:
    from urllib.parse import urlsplit

    redis = urlsplit(REDIS_URL)
    if not tcp_reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        service_missing("Redis", f"nothing listens at {REDIS_URL}")
    # Both instances use the same database and Redis, as two replicas behind the proxy do.
    shared = replace(settings, redis_url=REDIS_URL)
    first_app = create_app(shared, clock)
    first: TestClient = await aiohttp_client(first_app)
    second: TestClient = await aiohttp_client(create_app(shared, clock))
    services = first_app[SERVICES]
    people = People(services)
    patient, therapist = await pair(people)
    visit = await virtual_visit(services, patient, therapist, clock.now() + timedelta(minutes=5))
    # Each person gets the ticket from the instance they do not connect to.
    patient_ticket = await ticket_for(second, patient, visit)
    therapist_ticket = await ticket_for(first, therapist, visit, consent=False)

    async with aiohttp.ClientSession() as http:
        therapist_ch = SignalingChannel(http, str(first.make_url(f"/signaling/v1/{visit}")), ORIGIN)
        patient_ch = SignalingChannel(http, str(second.make_url(f"/signaling/v1/{visit}")), ORIGIN)
        await therapist_ch.hello(therapist_ticket)
        await patient_ch.hello(patient_ticket)
        therapist_peer = VisitPeer(therapist_ch, ice_servers=NO_ICE)
        patient_peer = VisitPeer(patient_ch, ice_servers=NO_ICE)
        runs = [asyncio.create_task(therapist_peer.run()), asyncio.create_task(patient_peer.run())]
        try:
            async with asyncio.timeout(30):
                # The peer appends frames from its own task; there is no event to await.
                while not any(e["type"] == "lobby" and e["waiting"] for e in therapist_peer.events):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            waiting = [e for e in therapist_peer.events if e["type"] == "lobby" and e["waiting"]][
                -1
            ]
            await therapist_ch.send("admit", participant=waiting["waiting"][0]["participant"])
            await asyncio.wait_for(patient_peer.first_frame.wait(), 30)
            await asyncio.wait_for(therapist_peer.first_frame.wait(), 30)
            await asyncio.wait_for(patient_peer.channel_open.wait(), 30)
            assert therapist_peer.data is not None
            marker = secrets.token_hex(4)
            therapist_peer.data.send(marker)
            assert await asyncio.wait_for(patient_peer.messages.get(), 30) == marker
            # The admission is recorded by a lifecycle callback of its own, which may still be
            # committing when the media already flows.
            async with asyncio.timeout(30):
                while await status_of(services, visit) == "checked_in":  # noqa: ASYNC110 - database state
                    await asyncio.sleep(0.02)
            assert await status_of(services, visit) == "in_progress"
            await therapist_ch.send("end")
            async with asyncio.timeout(30):
                while await status_of(services, visit) != "completed":  # noqa: ASYNC110 - database state
                    await asyncio.sleep(0.02)
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            # Side by side: one peer that cannot close must not leave the other open.
            await asyncio.gather(therapist_peer.close(), patient_peer.close())
