"""A visit participant built on aiortc: signaling, video and a data channel."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.sdp import candidate_from_sdp

from signaling.client.channel import ChannelClosed, SignalingChannel


def ice_servers_from_welcome(servers: list[dict[str, Any]]) -> list[RTCIceServer]:
    """Turn the welcome's iceServers into aiortc objects."""
    return [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in servers
    ]


def candidate_from_json(data: dict[str, Any]) -> Any:
    """An aiortc RTCIceCandidate from the protocol's candidate object."""
    text = str(data["candidate"])
    candidate = candidate_from_sdp(text.removeprefix("candidate:"))
    candidate.sdpMid = data.get("sdpMid")
    candidate.sdpMLineIndex = data.get("sdpMLineIndex")
    return candidate


class VisitPeer:
    """Joins a visit and negotiates with the first admitted peer, as perfect negotiation allows.

    aiortc cannot roll back a local offer, so the polite side answers glare with a fresh peer
    connection; the impolite side ignores colliding offers.
    """

    def __init__(
        self,
        channel: SignalingChannel,
        ice_servers: list[RTCIceServer] | None = None,
        relay_only: bool = False,
        offer_on_join: bool | None = None,
        send_video: bool = True,
    ) -> None:
        self.channel = channel
        self._ice_override = ice_servers
        self._relay_only = relay_only
        self._offer_on_join = offer_on_join
        self._send_video = send_video
        self.pc: RTCPeerConnection | None = None
        self.peer_id: str | None = None
        self.polite = False
        self.making_offer = False
        self.video_frames = 0
        self.first_frame = asyncio.Event()
        self.messages: asyncio.Queue[str] = asyncio.Queue()
        self.channel_open = asyncio.Event()
        self.events: list[dict[str, Any]] = []
        self.closed: ChannelClosed | None = None
        self.data: RTCDataChannel | None = None
        self._pending_candidates: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Closes of replaced peer connections, kept apart from the other tasks: aiortc's close
        # cannot be cancelled halfway (a second close would wait forever for the first).
        self._closing: set[asyncio.Task[None]] = set()
        self._pcs: list[RTCPeerConnection] = []

    # --- peer connection -----------------------------------------------------------------
    def _configuration(self) -> RTCConfiguration:
        welcome = self.channel.welcome
        servers = self._ice_override
        if servers is None:
            servers = ice_servers_from_welcome(welcome.ice_servers if welcome else [])
        if self._relay_only:
            from aiortc.rtcconfiguration import RTCIceTransportPolicy

            return RTCConfiguration(
                iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY
            )
        return RTCConfiguration(iceServers=servers)

    def _new_pc(self) -> RTCPeerConnection:
        if self.pc is not None:
            closing = asyncio.ensure_future(self.pc.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        pc = RTCPeerConnection(self._configuration())
        self.pc = pc
        self._pcs.append(pc)
        if self._send_video:
            pc.addTrack(VideoStreamTrack())

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._spawn(self._consume(track))

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self._bind_data(channel)

        return pc

    def _bind_data(self, channel: RTCDataChannel) -> None:
        self.data = channel

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            self.messages.put_nowait(message if isinstance(message, str) else message.decode())

        if channel.readyState == "open":
            self.channel_open.set()
        else:

            @channel.on("open")
            def on_open() -> None:
                self.channel_open.set()

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            self.video_frames += 1
            self.first_frame.set()

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def offer(self) -> None:
        """Start a negotiation with the current peer from a fresh peer connection."""
        assert self.peer_id is not None
        pc = self._new_pc()
        self._bind_data(pc.createDataChannel("visit"))
        self.making_offer = True
        try:
            await pc.setLocalDescription(await pc.createOffer())
        finally:
            self.making_offer = False
        if pc is not self.pc:
            return  # replaced while gathering
        await self.channel.send("offer", to=self.peer_id, sdp=pc.localDescription.sdp)

    async def _on_offer(self, frame: dict[str, Any]) -> None:
        pc = self.pc
        collision = pc is not None and (self.making_offer or pc.signalingState != "stable")
        if collision and not self.polite:
            return  # impolite: our offer wins
        self.peer_id = frame["from"]
        pc = self._new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "offer"))
        await self._flush_candidates()
        await pc.setLocalDescription(await pc.createAnswer())
        await self.channel.send("answer", to=frame["from"], sdp=pc.localDescription.sdp)

    async def _on_answer(self, frame: dict[str, Any]) -> None:
        pc = self.pc
        if pc is None or pc.signalingState != "have-local-offer":
            return
        await pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "answer"))
        await self._flush_candidates()

    async def _on_candidate(self, frame: dict[str, Any]) -> None:
        candidate = frame.get("candidate")
        if candidate is None or not candidate.get("candidate"):
            return
        self._pending_candidates.append(candidate)
        await self._flush_candidates()

    async def _flush_candidates(self) -> None:
        pc = self.pc
        # Candidates may arrive before the offer: keep them until a remote description exists.
        if pc is None or pc.remoteDescription is None:
            return
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate in pending:
            await pc.addIceCandidate(candidate_from_json(candidate))

    # --- signaling loop ------------------------------------------------------------------
    async def run(self) -> None:
        """Join and react to frames until the connection closes."""
        welcome = self.channel.welcome
        assert welcome is not None, "hello first"
        self.polite = welcome.polite
        offer_first = self._offer_on_join if self._offer_on_join is not None else not self.polite
        await self.channel.send("join")
        try:
            while True:
                frame = await self.channel.receive()
                self.events.append(frame)
                kind = frame.get("type")
                if kind == "admitted":
                    peers = [p["participant"] for p in frame["participants"]]
                    if peers and offer_first:
                        self.peer_id = peers[0]
                        await self.offer()
                elif kind == "presence" and frame["presence"] == "joined":
                    if offer_first and (self.pc is None or frame["participant"] != self.peer_id):
                        self.peer_id = frame["participant"]
                        await self.offer()
                    elif offer_first and self.pc is not None:
                        # The peer came back in a new tab: it lost our negotiation.
                        await self.offer()
                elif kind == "offer":
                    await self._on_offer(frame)
                elif kind == "answer":
                    await self._on_answer(frame)
                elif kind == "candidate":
                    await self._on_candidate(frame)
        except ChannelClosed as closed:
            self.closed = closed

    async def close(self) -> None:
        """Close peer connections and the socket."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Let the closes already under way finish; cancelling one would make the close below
        # of the same peer connection wait forever.
        await asyncio.gather(*self._closing, return_exceptions=True)
        for pc in self._pcs:
            await pc.close()
        await self.channel.close()
