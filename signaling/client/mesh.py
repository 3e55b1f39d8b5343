"""A participant of a room with more than two people: one peer connection per other participant.

The server relays per peer (`to`/`from`), so a mesh needs nothing new from it; what it needs is
one polite side per pair (docs/signaling.md, *More than two participants*): between a host and a
guest the server's flag decides, between two participants of the same role the one whose
participant id sorts first is impolite. Here the impolite side of each pair offers and the polite
side answers, which avoids glare altogether (aiortc cannot roll back a local offer).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from signaling.client.channel import ChannelClosed, SignalingChannel
from signaling.client.peer import candidate_from_json, ice_servers_from_welcome


def polite_toward(
    my_id: str, my_role: str, my_polite: bool, their_id: str, their_role: str | None
) -> bool:
    """Whether this side yields to `their_id` in perfect negotiation."""
    if their_role is None or their_role != my_role:
        return my_polite
    return my_id > their_id


@dataclass
class MeshLink:
    """The peer connection to one other participant, and what arrived on it."""

    participant: str
    polite: bool
    pc: RTCPeerConnection
    pending: list[dict[str, Any]] = field(default_factory=list)
    video_frames: int = 0
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)


class MeshPeer:
    """Joins a room and negotiates with every admitted participant, sending a test video to each."""

    def __init__(self, channel: SignalingChannel, ice_servers: list[RTCIceServer] | None = None):
        self.channel = channel
        self._ice_override = ice_servers
        self.links: dict[str, MeshLink] = {}
        self.roles: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.closed: ChannelClosed | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._old: list[RTCPeerConnection] = []

    def _configuration(self) -> RTCConfiguration:
        welcome = self.channel.welcome
        servers = self._ice_override
        if servers is None:
            servers = ice_servers_from_welcome(welcome.ice_servers if welcome else [])
        return RTCConfiguration(iceServers=servers)

    def _polite(self, participant: str) -> bool:
        welcome = self.channel.welcome
        assert welcome is not None
        return polite_toward(
            welcome.participant,
            welcome.role,
            welcome.polite,
            participant,
            self.roles.get(participant),
        )

    def _link(self, participant: str, fresh: bool = False) -> MeshLink:
        link = self.links.get(participant)
        if link is not None and not fresh:
            return link
        if link is not None:
            self._old.append(link.pc)
        pc = RTCPeerConnection(self._configuration())
        pc.addTrack(VideoStreamTrack())
        made = MeshLink(participant, self._polite(participant), pc)
        if link is not None:
            made.first_frame = link.first_frame
            made.video_frames = link.video_frames

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._spawn(self._consume(made, track))

        self.links[participant] = made
        return made

    async def _consume(self, link: MeshLink, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            link.video_frames += 1
            link.first_frame.set()

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _offer(self, participant: str) -> None:
        link = self._link(participant, fresh=True)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        await self.channel.send("offer", to=participant, sdp=link.pc.localDescription.sdp)

    async def _on_offer(self, frame: dict[str, Any]) -> None:
        sender = frame["from"]
        if not self._polite(sender):
            return  # this side offers to that one; a colliding offer loses
        link = self._link(sender, fresh=True)
        await link.pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "offer"))
        await self._flush(link)
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        await self.channel.send("answer", to=sender, sdp=link.pc.localDescription.sdp)

    async def _on_answer(self, frame: dict[str, Any]) -> None:
        link = self.links.get(frame["from"])
        if link is None or link.pc.signalingState != "have-local-offer":
            return
        await link.pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "answer"))
        await self._flush(link)

    async def _on_candidate(self, frame: dict[str, Any]) -> None:
        candidate = frame.get("candidate")
        if candidate is None or not candidate.get("candidate"):
            return
        link = self._link(frame["from"])
        link.pending.append(candidate)
        await self._flush(link)

    async def _flush(self, link: MeshLink) -> None:
        # Candidates may arrive before the offer: kept until a remote description exists
        # (aiortc's annotation says it always does; before the offer it is None).
        description: RTCSessionDescription | None = link.pc.remoteDescription
        if description is None:
            return
        pending, link.pending = link.pending, []
        for candidate in pending:
            await link.pc.addIceCandidate(candidate_from_json(candidate))

    async def _meet(self, participant: str, role: str) -> None:
        self.roles[participant] = role
        if not self._polite(participant):
            await self._offer(participant)

    async def run(self) -> None:
        """Join and react to frames until the connection closes."""
        welcome = self.channel.welcome
        assert welcome is not None, "hello first"
        await self.channel.send("join")
        try:
            while True:
                frame = await self.channel.receive()
                self.events.append(frame)
                kind = frame.get("type")
                if kind == "admitted":
                    for peer in frame["participants"]:
                        if peer["presence"] != "left":
                            await self._meet(peer["participant"], peer["role"])
                elif kind == "presence":
                    if frame["presence"] == "joined":
                        await self._meet(frame["participant"], frame["role"])
                    elif frame["presence"] == "left":
                        gone = self.links.pop(frame["participant"], None)
                        if gone is not None:
                            self._old.append(gone.pc)
                elif kind == "offer":
                    await self._on_offer(frame)
                elif kind == "answer":
                    await self._on_answer(frame)
                elif kind == "candidate":
                    await self._on_candidate(frame)
        except ChannelClosed as closed:
            self.closed = closed

    async def close(self) -> None:
        """Close every peer connection and the socket."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pc in [*self._old, *(link.pc for link in self.links.values())]:
            await pc.close()
        await self.channel.close()
