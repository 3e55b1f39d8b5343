"""The aiohttp request handler: Origin check, upgrade, then one Connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from signaling.connection import Connection
from signaling.hub import Hub
from signaling.outlet import Outlet

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve_socket(hub: Hub, request: web.Request) -> web.StreamResponse:
    """Check the Origin, upgrade and serve one signaling connection."""
    connection = await upgrade(hub, request)
    await connection.serve()
    return connection.ws


async def upgrade(hub: Hub, request: web.Request) -> Connection:
    """Check the Origin and upgrade; the connection, not served yet.

    Separate from `Connection.serve` so that its frame is gone while the socket is open:
    an idle connection keeps only the handler's and `serve`'s coroutine frames.
    """
    # Refuse before upgrading: a foreign page must never get a socket to try tickets on.
    if request.headers.get("Origin") not in hub.config.allowed_origins:
        raise web.HTTPForbidden(text="origin not allowed")
    limits = hub.limits
    # No permessage-deflate: signaling frames are small, and a zlib stream pair costs
    # hundreds of KB per connection (the PeerJS server does without it too).
    # aiohttp refuses a message of max_msg_size bytes or more; the protocol allows exactly
    # max_message_bytes, hence the + 1.
    ws = web.WebSocketResponse(
        max_msg_size=limits.max_message_bytes + 1, heartbeat=hub.config.heartbeat, compress=False
    )
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is required")
    await ws.prepare(request)
    # The send queue holds at most what the client has not acknowledged (send_queue_bytes)
    # plus a resume's replay (at most one resume buffer).
    outlet = Outlet(ws, limits.send_queue_bytes + limits.resume_buffer_bytes, hub.stats)
    return Connection(hub, ws, outlet, request.match_info.get("room"))


def make_handler(hub: Hub) -> Handler:
    """A handler bound to one hub, for applications that route it themselves."""

    async def signaling_socket(request: web.Request) -> web.StreamResponse:
        # Not through serve_socket: one coroutine frame less per open socket.
        connection = await upgrade(hub, request)
        await connection.serve()
        return connection.ws

    return signaling_socket
