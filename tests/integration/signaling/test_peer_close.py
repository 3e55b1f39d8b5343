"""The aiortc visit peer closes whatever state its negotiations left it in."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc import RTCPeerConnection

from signaling.client import SignalingChannel, VisitPeer


async def _connect(peer: VisitPeer, remote: RTCPeerConnection) -> None:
    """Negotiate the peer's current connection with a plain aiortc one, without signaling."""
    pc = peer._new_pc()
    opened = asyncio.Event()
    channel = pc.createDataChannel("visit")
    channel.on("open", opened.set)
    await pc.setLocalDescription(await pc.createOffer())
    await remote.setRemoteDescription(pc.localDescription)
    await remote.setLocalDescription(await remote.createAnswer())
    await pc.setRemoteDescription(remote.localDescription)
    async with asyncio.timeout(30):
        await opened.wait()


async def test_closing_while_a_replaced_peer_connection_is_still_closing() -> None:
    # A renegotiation replaces the peer connection and closes the old one in the background;
    # the visit may end at that very moment. aiortc's close cannot be cancelled halfway (a second
    # close then waits forever for the first), so the peer lets it finish instead of cancelling.
    remote = RTCPeerConnection()
    async with aiohttp.ClientSession() as http:
        peer = VisitPeer(SignalingChannel(http, "ws://127.0.0.1:9/unused", "http://127.0.0.1"))
        try:
            await _connect(peer, remote)
            peer._new_pc()  # the renegotiation: the connected one starts closing
            for _ in range(3):
                await asyncio.sleep(0)  # ... and is now inside aiortc's close
            async with asyncio.timeout(30):
                await peer.close()
            assert [pc.connectionState for pc in peer._pcs] == ["closed", "closed"]
        finally:
            await remote.close()
