"""The aiohttp request handler: Origin check, upgrade, then one Connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from signaling.connection import Connection
from signaling.hub import Hub
from signaling.outlet import Outlet
from signaling.websocket import DirectWebSocket, TextFrameWriter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve_socket(hub: Hub, request: web.Request) -> web.StreamResponse:
    """Check the Origin, upgrade and serve one signaling connection."""
    # Refuse before upgrading: a foreign page must never get a socket to try tickets on.
    if request.headers.get("Origin") not in hub.config.allowed_origins:
        raise web.HTTPForbidden(text="origin not allowed")
    # No permessage-deflate: signaling frames are small, and a zlib stream pair costs
    # hundreds of KB per connection (the PeerJS server does without it too).
    ws = DirectWebSocket(
        max_msg_size=hub.limits.max_message_bytes, heartbeat=hub.config.heartbeat, compress=False
    )
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is required")
    stream = await ws.prepare(request)
    transport = request.transport
    if transport is None:  # the client left during the upgrade
        return ws

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    writer = TextFrameWriter(transport, stream.drain)
    outlet = Outlet(writer, close, hub.limits.send_queue_frames)
    await Connection(hub, ws, outlet, request.match_info.get("room")).serve()
    return ws


def make_handler(hub: Hub) -> Handler:
    """A handler bound to one hub, for applications that route it themselves."""

    async def signaling_socket(request: web.Request) -> web.StreamResponse:
        return await serve_socket(hub, request)

    return signaling_socket
