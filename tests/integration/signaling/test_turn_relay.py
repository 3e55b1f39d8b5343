"""Relay-only media through a real coturn, with credentials the server minted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from signaling import Role, TurnSettings
from signaling.client import VisitPeer
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import HandClock, TicketBook, connect
from tests.services import running_coturn

pytestmark = pytest.mark.coturn
SECRET = "turn-test-secret"


@pytest.fixture
def turn_url() -> Iterator[str]:
    """A coturn on loopback with use-auth-secret, stopped after the test."""
    with running_coturn(SECRET) as url:
        yield url


async def relay_candidates(servers: list[RTCIceServer]) -> list[str]:
    """Gather with a relay-only policy; the SDP lists what the TURN server granted."""
    pc = RTCPeerConnection(
        RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    )
    try:
        pc.createDataChannel("probe")
        await pc.setLocalDescription(await pc.createOffer())
        return [ln for ln in pc.localDescription.sdp.splitlines() if "typ relay" in ln]
    finally:
        await pc.close()


def ice_servers(welcome_servers: list[dict[str, object]]) -> list[RTCIceServer]:
    return [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))  # type: ignore[arg-type]
        for s in welcome_servers
    ]


async def test_visit_through_turn_only(
    http: aiohttp.ClientSession, start_server: ServerFactory, tickets: TicketBook, turn_url: str
) -> None:
    url = await start_server(turn=TurnSettings(secret=SECRET, turn_urls=(turn_url,)))
    host_ch = await connect(http, url, tickets.issue("t", "therapist", Role.HOST))
    guest_ch = await connect(http, url, tickets.issue("t", "patient"))
    assert host_ch.welcome is not None and host_ch.welcome.ice_servers
    therapist = VisitPeer(host_ch, relay_only=True)
    patient = VisitPeer(guest_ch, relay_only=True)
    runs = [asyncio.create_task(therapist.run()), asyncio.create_task(patient.run())]
    try:
        lobby = await asyncio.wait_for(_waiting_lobby(therapist), 30)
        await host_ch.send("admit", participant=lobby)
        await asyncio.wait_for(patient.first_frame.wait(), 60)
        await asyncio.wait_for(patient.channel_open.wait(), 60)
        assert therapist.data is not None
        therapist.data.send("through the relay")
        assert await asyncio.wait_for(patient.messages.get(), 30) == "through the relay"
        assert therapist.pc is not None
        sdp = therapist.pc.localDescription.sdp
        assert "typ relay" in sdp and "typ host" not in sdp
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await therapist.close()
        await patient.close()


async def _waiting_lobby(peer: VisitPeer) -> str:
    while True:
        for event in peer.events:
            if event["type"] == "lobby" and event["waiting"]:
                return str(event["waiting"][0]["participant"])
        await asyncio.sleep(0.01)


async def test_minted_credentials_work_and_forged_or_expired_ones_do_not(
    http: aiohttp.ClientSession,
    start_server: ServerFactory,
    tickets: TicketBook,
    clock: HandClock,
    turn_url: str,
) -> None:
    url = await start_server(turn=TurnSettings(secret=SECRET, turn_urls=(turn_url,)))
    clock.current = datetime.now(UTC)
    fresh = await connect(http, url, tickets.issue("t", "patient"))
    assert fresh.welcome is not None
    granted = ice_servers(fresh.welcome.ice_servers)
    assert await relay_candidates(granted)

    forged = [RTCIceServer(urls=turn_url, username=granted[0].username, credential="Zm9yZ2Vk")]
    assert await relay_candidates(forged) == []

    clock.current = datetime(2020, 1, 1, tzinfo=UTC)  # minted long ago: expired by now
    old = await connect(http, url, tickets.issue("t", "relative"))
    assert old.welcome is not None
    assert await relay_candidates(ice_servers(old.welcome.ice_servers)) == []
    await fresh.close()
    await old.close()
