"""A peer that answers offers and sends media and data back: the far end of a network test."""

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
)
from aiortc.contrib.media import MediaRelay

from signaling.client.channel import ChannelClosed, SignalingChannel
from signaling.client.peer import candidate_from_json, ice_servers_from_welcome


async def answer_with_echo(
    offer_sdp: str, configuration: RTCConfiguration, relay: MediaRelay | None = None
) -> RTCPeerConnection:
    """A new peer connection that answers offer_sdp and echoes every track and data message back.

    The caller sends `pc.localDescription.sdp` as the answer and closes the connection when done.
    aiortc gathers all candidates into the answer, so no trickle is needed.
    """
    relay = relay or MediaRelay()
    pc = RTCPeerConnection(configuration)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        pc.addTrack(relay.subscribe(track))

    @pc.on("datachannel")
    def on_datachannel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            channel.send(message)

    await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return pc


class EchoPeer:
    """Answers each offer with a new peer connection that echoes every track and message."""

    def __init__(
        self, channel: SignalingChannel, ice_servers: list[RTCIceServer] | None = None
    ) -> None:
        self.channel = channel
        self._ice_override = ice_servers
        self._relay = MediaRelay()
        self._pcs: dict[str, RTCPeerConnection] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self.echoed_messages = 0

    def _configuration(self) -> RTCConfiguration:
        servers = self._ice_override
        if servers is None:
            welcome = self.channel.welcome
            servers = ice_servers_from_welcome(welcome.ice_servers if welcome else [])
        return RTCConfiguration(iceServers=servers)

    async def _answer(self, frame: dict[str, Any]) -> None:
        sender = str(frame["from"])
        old = self._pcs.pop(sender, None)
        if old is not None:
            await old.close()
        pc = await answer_with_echo(frame["sdp"], self._configuration(), self._relay)
        self._pcs[sender] = pc

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            @channel.on("message")
            def count(_: str | bytes) -> None:
                self.echoed_messages += 1

        for candidate in self._pending.pop(sender, []):
            await pc.addIceCandidate(candidate_from_json(candidate))
        await self.channel.send("answer", to=sender, sdp=pc.localDescription.sdp)

    async def _candidate(self, frame: dict[str, Any]) -> None:
        candidate = frame.get("candidate")
        if not candidate or not candidate.get("candidate"):
            return
        pc = self._pcs.get(str(frame["from"]))
        if pc is None or pc.remoteDescription is None:
            self._pending.setdefault(str(frame["from"]), []).append(candidate)
            return
        await pc.addIceCandidate(candidate_from_json(candidate))

    async def run(self) -> None:
        """Join and echo until the connection closes."""
        await self.channel.send("join")
        with contextlib.suppress(ChannelClosed):
            while True:
                frame = await self.channel.receive()
                kind = frame.get("type")
                if kind == "offer":
                    await self._answer(frame)
                elif kind == "candidate":
                    await self._candidate(frame)

    async def close(self) -> None:
        """Close all peer connections and the socket."""
        pcs = list(self._pcs.values())
        self._pcs.clear()
        await asyncio.gather(*(pc.close() for pc in pcs))
        await self.channel.close()
