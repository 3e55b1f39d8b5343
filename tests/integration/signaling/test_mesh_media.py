"""More than two people in a room: a therapist, a patient and a guest on aiortc, each with one
peer connection per other participant (a mesh), exchange video with every other one; the guest
is admitted from the waiting room like the patient, and the patient and the guest (both guests
to the server) settle who offers by their participant ids."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc import RTCIceServer

from signaling import Role
from signaling.client import MeshPeer
from signaling.client.mesh import polite_toward
from tests.integration.signaling.support import TicketBook, connect

NO_ICE_SERVERS: list[RTCIceServer] = []
WAIT_SECONDS = 60


async def _admit_next(therapist: MeshPeer, seen: set[str]) -> str:
    """The host admits the next participant the lobby shows."""
    while True:
        await asyncio.sleep(0.01)
        for event in reversed(therapist.events):
            if event["type"] != "lobby":
                continue
            for waiting in event["waiting"]:
                if waiting["participant"] not in seen:
                    seen.add(waiting["participant"])
                    await therapist.channel.send("admit", participant=waiting["participant"])
                    return str(waiting["display_name"])


async def _links(peer: MeshPeer, others: int) -> None:
    while True:
        if len(peer.links) >= others:
            return
        await asyncio.sleep(0.01)


async def _frames_from_everyone(peer: MeshPeer, others: int) -> None:
    await asyncio.wait_for(_links(peer, others), WAIT_SECONDS)
    for link in list(peer.links.values()):
        await asyncio.wait_for(link.first_frame.wait(), WAIT_SECONDS)


async def test_therapist_patient_and_guest_see_each_other(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    room = "visit-mesh"
    therapist_ch = await connect(http, server_url, tickets.issue(room, "therapist", Role.HOST))
    patient_ch = await connect(http, server_url, tickets.issue(room, "patient"))
    therapist = MeshPeer(therapist_ch, ice_servers=NO_ICE_SERVERS)
    patient = MeshPeer(patient_ch, ice_servers=NO_ICE_SERVERS)
    peers = [therapist, patient]
    runs = [asyncio.create_task(therapist.run()), asyncio.create_task(patient.run())]
    admitted: set[str] = set()
    try:
        assert await _admit_next(therapist, admitted) == "Patient"
        await _frames_from_everyone(therapist, 1)
        await _frames_from_everyone(patient, 1)

        # The daughter arrives while the two are in the call, waits, and is let in.
        guest_ch = await connect(
            http, server_url, tickets.issue(room, "guest-ana", name="Ana (caregiver)")
        )
        guest = MeshPeer(guest_ch, ice_servers=NO_ICE_SERVERS)
        peers.append(guest)
        runs.append(asyncio.create_task(guest.run()))
        assert await _admit_next(therapist, admitted) == "Ana (caregiver)"
        for peer in peers:
            await _frames_from_everyone(peer, 2)
        # Media flows between all three: each receives frames from both others.
        for peer in peers:
            assert len(peer.links) == 2
            assert all(link.video_frames > 0 for link in peer.links.values())
        # Exactly one side of each pair was polite, so each pair negotiated once, without glare.
        ids = {p: p.channel.welcome.participant for p in peers}  # type: ignore[union-attr]
        for a in peers:
            for b in peers:
                if a is not b:
                    assert a.links[ids[b]].polite != b.links[ids[a]].polite
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        for peer in peers:
            await peer.close()


def test_one_polite_side_per_pair() -> None:
    # A host is impolite toward any guest; a guest polite toward the host.
    assert polite_toward("p-b", "host", False, "p-a", "guest") is False
    assert polite_toward("p-a", "guest", True, "p-b", "host") is True
    # Two guests: the smaller participant id is the impolite one, whichever side asks.
    assert polite_toward("p-a", "guest", True, "p-b", "guest") is False
    assert polite_toward("p-b", "guest", True, "p-a", "guest") is True
    # A peer whose role is not known yet: the server's flag.
    assert polite_toward("p-a", "guest", True, "p-b", None) is True
