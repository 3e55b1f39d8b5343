"""A patient and a therapist on aiortc negotiate through the server and see each other."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc import RTCIceServer

from signaling import Role
from signaling.client import VisitPeer
from tests.integration.signaling.support import TicketBook, connect

NO_ICE_SERVERS: list[RTCIceServer] = []


async def run_visit(
    http: aiohttp.ClientSession,
    therapist_url: str,
    patient_url: str,
    tickets: TicketBook,
    room: str = "visit-1",
    patient_offers_too: bool = False,
) -> tuple[VisitPeer, VisitPeer]:
    """Bring both into the room, admit the patient and wait for video and data both ways."""
    therapist_ch = await connect(http, therapist_url, tickets.issue(room, "therapist", Role.HOST))
    patient_ch = await connect(http, patient_url, tickets.issue(room, "patient"))
    therapist = VisitPeer(therapist_ch, ice_servers=NO_ICE_SERVERS)
    patient = VisitPeer(
        patient_ch, ice_servers=NO_ICE_SERVERS, offer_on_join=patient_offers_too or None
    )
    runs = [asyncio.create_task(therapist.run()), asyncio.create_task(patient.run())]
    try:
        # The host learns about the waiting patient from the lobby and admits them.
        while True:
            await asyncio.sleep(0.01)
            lobbies = [e for e in therapist.events if e["type"] == "lobby" and e["waiting"]]
            if lobbies:
                break
        waiting = lobbies[-1]["waiting"][0]["participant"]
        assert waiting == patient_ch.welcome.participant  # type: ignore[union-attr]
        await therapist_ch.send("admit", participant=waiting)
        await asyncio.wait_for(patient.first_frame.wait(), 30)
        await asyncio.wait_for(therapist.first_frame.wait(), 30)
        await asyncio.wait_for(patient.channel_open.wait(), 30)
        await asyncio.wait_for(therapist.channel_open.wait(), 30)
        assert therapist.data is not None and patient.data is not None
        therapist.data.send("how is the knee?")
        patient.data.send("better")
        assert await asyncio.wait_for(patient.messages.get(), 30) == "how is the knee?"
        assert await asyncio.wait_for(therapist.messages.get(), 30) == "better"
        return therapist, patient
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await therapist.close()
        await patient.close()


async def test_patient_and_therapist_exchange_video_and_data(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    therapist, patient = await run_visit(http, server_url, server_url, tickets)
    assert therapist.video_frames > 0 and patient.video_frames > 0
    assert patient.polite and not therapist.polite


async def test_glare_converges(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    # Both sides offer as soon as they see each other; the polite patient must yield.
    therapist, _ = await run_visit(http, server_url, server_url, tickets, patient_offers_too=True)
    offers_seen_by_therapist = [e for e in therapist.events if e["type"] == "offer"]
    assert offers_seen_by_therapist, "the patient never offered, so there was no glare"
