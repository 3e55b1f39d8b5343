"""The send queue under a signaling connection, on real sockets: the outlet writes through
aiohttp's `send_str` while the client keeps up, queues in order while it does not, and closes a
client whose queue passes its byte limit with 4008."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from signaling.codes import CloseCode
from signaling.outlet import Outlet, utf8_size
from signaling.stats import Stats

BIG = "x" * 60_000  # a frame large enough to fill socket buffers in a few dozen writes


@dataclass
class ServerSide:
    """What the server handler exposes to a test."""

    ws: web.WebSocketResponse
    outlet: Outlet
    stats: Stats
    done: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[ServerSide], Awaitable[None]]


class Harness:
    """Servers whose handler builds an outlet and runs a test's `reader` on its socket."""

    def __init__(self) -> None:
        self.servers: list[TestServer] = []
        self.sessions: list[aiohttp.ClientSession] = []
        self.sides: asyncio.Queue[ServerSide] = asyncio.Queue()

    async def serve(self, reader: Handler, limit: int) -> TestServer:
        """A server on 127.0.0.1 whose outlets queue at most `limit` bytes."""

        async def handler(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            stats = Stats()
            side = ServerSide(ws, Outlet(ws, limit, stats), stats)
            await self.sides.put(side)
            try:
                await reader(side)
            finally:
                side.done.set()
            return ws

        app = web.Application()
        app.router.add_get("/ws", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        return server

    async def connect(
        self, reader: Handler, limit: int = 100 * len(BIG)
    ) -> tuple[ServerSide, aiohttp.ClientWebSocketResponse]:
        """An aiohttp client with a small receive buffer, and the server's side of it."""
        server = await self.serve(reader, limit)
        # A small receive buffer so that a client which stops reading pushes back on the
        # server after a few hundred KB rather than many MB.
        connector = aiohttp.TCPConnector(force_close=True, socket_factory=_small_buffer_socket)
        session = aiohttp.ClientSession(connector=connector)
        self.sessions.append(session)
        client = await session.ws_connect(server.make_url("/ws"), max_msg_size=0)
        return await self.sides.get(), client

    async def close(self) -> None:
        """Close every client and server."""
        for session in self.sessions:
            await session.close()
        for server in self.servers:
            await server.close()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """Servers and clients, closed after the test."""
    made = Harness()
    yield made
    await made.close()


def _small_buffer_socket(addr_info: Any) -> socket.socket:
    sock = socket.socket(addr_info[0], addr_info[1], addr_info[2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    return sock


async def read_until_closed(client: aiohttp.ClientWebSocketResponse) -> tuple[list[str], int]:
    """Every text frame up to the close, and the code in the server's close frame."""
    frames: list[str] = []
    while True:
        msg = await asyncio.wait_for(client.receive(), 10)
        if msg.type is WSMsgType.TEXT:
            frames.append(msg.data)
        else:
            # The code the server sent (client.close_code is the client's own view, which is
            # 1006 when the server has closed TCP before the client's reply).
            assert msg.type is WSMsgType.CLOSE, msg
            return frames, int(msg.data)


async def read_frames(client: aiohttp.ClientWebSocketResponse, count: int) -> list[str]:
    """The next `count` text frames."""
    frames = []
    for _ in range(count):
        msg = await asyncio.wait_for(client.receive(), 10)
        assert msg.type is WSMsgType.TEXT, msg
        frames.append(msg.data)
    return frames


async def idle(side: ServerSide) -> None:
    """A reader that reads until the socket closes, then lets the outlet finish (as a
    connection does)."""
    while (await side.ws.receive()).type is WSMsgType.TEXT:
        pass
    await asyncio.wait_for(side.outlet.wait_closed(), 10)


def closing(outlet: Outlet) -> bool:
    """Whether the outlet is closing, read afresh."""
    return outlet.closing


async def settle() -> None:
    """Let the outlet's writer run as far as it can without the socket draining."""
    for _ in range(5):
        await asyncio.sleep(0)


async def fill_until_backlogged(outlet: Outlet, sent: list[str]) -> None:
    """Send big numbered frames until the outlet has to wait for the socket."""
    for n in range(10_000):
        frame = f"{n}:{BIG}"
        outlet.send(frame)
        sent.append(frame)
        await settle()
        if outlet.queued_bytes:
            return
    raise AssertionError("the socket never pushed back")


async def test_frames_are_written_while_the_client_keeps_up(harness: Harness) -> None:
    side, client = await harness.connect(idle)
    side.outlet.send("a")
    side.outlet.send("é" * 200)  # a two-byte length header, and UTF-8
    assert side.outlet.queued_bytes == 1 + 400  # bytes, not characters
    await settle()
    assert side.outlet.queued_bytes == 0 and side.stats.queue_bytes == 0
    assert await read_frames(client, 2) == ["a", "é" * 200]
    side.outlet.close(CloseCode.REPLACED, "replaced")
    assert await read_until_closed(client) == ([], CloseCode.REPLACED)


async def test_frames_queue_in_order_while_the_client_is_not_reading(harness: Harness) -> None:
    side, client = await harness.connect(idle)
    sent: list[str] = []
    await fill_until_backlogged(side.outlet, sent)
    for n in range(5):
        side.outlet.send(f"queued {n}")
        sent.append(f"queued {n}")
    assert side.outlet.queued_bytes > 0 and not side.outlet.closing
    assert side.stats.queue_bytes == side.outlet.queued_bytes
    assert await read_frames(client, len(sent)) == sent
    for _ in range(100):  # the writer finishes once the client has read everything
        if not side.outlet.queued_bytes:
            break
        await asyncio.sleep(0.01)
    assert side.outlet.queued_bytes == 0 and side.stats.queue_bytes == 0
    side.outlet.send("written again")
    assert await read_frames(client, 1) == ["written again"]


async def test_a_queue_past_its_byte_limit_closes_the_client_as_slow(harness: Harness) -> None:
    side, client = await harness.connect(idle, limit=3 * len(BIG))
    sent: list[str] = []
    await fill_until_backlogged(side.outlet, sent)
    room = 3 * len(BIG) - side.outlet.queued_bytes
    side.outlet.send("q" * room)  # exactly up to the limit: queued
    sent.append("q" * room)
    assert side.outlet.queued_bytes == 3 * len(BIG) and not side.outlet.closing
    side.outlet.send("!")  # one byte too many
    assert closing(side.outlet) and side.outlet.queued_bytes == 0
    side.outlet.send("late")  # dropped: resume replays what the client missed
    frames, code = await read_until_closed(client)
    # What was queued was dropped; nothing was reordered or cut in half.
    assert code == CloseCode.SLOW_CONSUMER
    assert frames == sent[: len(frames)] and len(frames) < len(sent)
    assert side.stats.queue_bytes == 0


async def test_close_waits_for_the_queued_frames(harness: Harness) -> None:
    side, client = await harness.connect(idle)
    sent: list[str] = []
    await fill_until_backlogged(side.outlet, sent)
    side.outlet.send("last")
    side.outlet.close(CloseCode.ENDED, "ended")
    assert await read_until_closed(client) == ([*sent, "last"], CloseCode.ENDED)
    await asyncio.wait_for(side.outlet.wait_closed(), 10)


async def test_a_vanished_client_stops_the_outlet_without_errors(harness: Harness) -> None:
    side, client = await harness.connect(idle)
    await client.close()
    await asyncio.wait_for(side.done.wait(), 10)
    for _ in range(3):
        side.outlet.send("nobody listens")
    await settle()
    assert side.outlet.closing
    await asyncio.wait_for(side.outlet.wait_closed(), 10)


def test_utf8_size_counts_bytes() -> None:
    assert utf8_size("abc") == 3
    assert utf8_size("é") == 2
    assert utf8_size("😀") == 4
