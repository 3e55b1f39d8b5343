"""The socket layer under a signaling connection, on real sockets: frames taken on the read
callback keep their order with frames handed to `receive()`, and the outlet writes at once while
the client keeps up, queues in order while it does not, and closes a client that falls too far
behind with 4008."""

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
from signaling.outlet import Outlet
from signaling.websocket import DIRECT_AVAILABLE, DirectWebSocket, TextFrameWriter, text_frame

BIG = "x" * 60_000  # a frame large enough to fill socket buffers in a few dozen writes


@dataclass
class ServerSide:
    """What the server handler exposes to a test."""

    ws: DirectWebSocket
    outlet: Outlet
    taken: list[str] = field(default_factory=list)  # in the order the server handled them
    done: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[ServerSide], Awaitable[None]]


class Harness:
    """Servers whose handler builds the socket layer and runs a test's `reader` on it."""

    def __init__(self) -> None:
        self.servers: list[TestServer] = []
        self.sessions: list[aiohttp.ClientSession] = []
        self.sides: asyncio.Queue[ServerSide] = asyncio.Queue()

    async def serve(self, reader: Handler, limit: int = 8) -> TestServer:
        """A server on 127.0.0.1 whose outlets queue at most `limit` frames."""

        async def handler(request: web.Request) -> web.StreamResponse:
            ws = DirectWebSocket(compress=False)
            stream = await ws.prepare(request)
            assert request.transport is not None

            async def close(code: int, reason: str) -> None:
                await ws.close(code=code, message=reason.encode())

            outlet = Outlet(TextFrameWriter(request.transport, stream.drain), close, limit)
            side = ServerSide(ws, outlet)
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
        self, reader: Handler, limit: int = 8
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

    async def connect_raw(
        self, reader: Handler
    ) -> tuple[ServerSide, asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw TCP client past the WebSocket handshake, to control how frames are written."""
        server = await self.serve(reader)
        assert server.port is not None
        stream_in, stream_out = await asyncio.open_connection("127.0.0.1", server.port)
        stream_out.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        response = await asyncio.wait_for(stream_in.readuntil(b"\r\n\r\n"), 10)
        assert response.startswith(b"HTTP/1.1 101"), response
        return await self.sides.get(), stream_in, stream_out

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


def masked_text_frame(text: str) -> bytes:
    """A client text frame (RFC 6455 requires client frames to be masked; a zero key is valid)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + b"\x00\x00\x00\x00" + payload


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


def state(outlet: Outlet) -> tuple[bool, bool]:
    """(backlogged, closing), read afresh."""
    return outlet.backlogged, outlet.closing


async def fill_until_backlogged(outlet: Outlet, sent: list[str]) -> None:
    """Send big numbered frames until the outlet has to wait for the socket."""
    for n in range(10_000):
        if outlet.backlogged:
            return
        frame = f"{n}:{BIG}"
        outlet.send(frame)
        sent.append(frame)
    raise AssertionError("the socket never pushed back")


def test_the_installed_aiohttp_takes_frames_on_the_read_callback() -> None:
    # The relay's speed rests on this; an aiohttp upgrade that changes its parser queue must
    # be noticed here rather than as a silent slowdown.
    assert DIRECT_AVAILABLE


def test_text_frames_have_the_rfc_6455_header() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"a" * 70_000)[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")


async def test_frames_taken_directly_and_through_receive_keep_their_order(
    harness: Harness,
) -> None:
    # "d" frames are handled on the read callback; "s" frames go through receive() and take a
    # while (as a frame that waits for the bus or the database does).
    direct: list[str] = []

    async def reader(side: ServerSide) -> None:
        def take(raw: str) -> bool:
            if raw.startswith("d"):
                side.taken.append(raw)
                direct.append(raw)
                return True
            return False

        assert side.ws.direct
        side.ws.take_text(take)
        while True:
            side.ws.holding(False)
            msg = await side.ws.receive()
            side.ws.holding(True)
            if msg.type is not WSMsgType.TEXT:
                return
            await asyncio.sleep(0.003)
            side.taken.append(msg.data)

    side, _, writer_io = await harness.connect_raw(reader)
    # Each group is written in one write, so the parser meets several frames in one read (an
    # "s" queued and a "d" behind it before the reading task has run). After a group that ends
    # with "s" the next follows 1 ms later, while the task is in the middle of that "s" with
    # nothing queued; after the others, 6 ms later, once everything has been handled, so that
    # "d" frames are also taken directly.
    groups = ["sd", "d", "sdd", "ds", "dsd", "s", "dd", "ssd", "d", "s", "d"] * 8
    sent: list[str] = []
    for group in groups:
        frames = [f"{kind}{len(sent) + n}" for n, kind in enumerate(group)]
        sent.extend(frames)
        writer_io.write(b"".join(masked_text_frame(frame) for frame in frames))
        await writer_io.drain()
        await asyncio.sleep(0.001 if group.endswith("s") else 0.006)
    writer_io.write(b"\x88\x82\x00\x00\x00\x00\x03\xe8")  # close 1000
    await writer_io.drain()
    await asyncio.wait_for(side.done.wait(), 10)
    writer_io.close()
    assert side.taken == sent
    assert direct, "no frame was taken on the read callback"


async def test_frames_are_written_at_once_while_the_client_keeps_up(harness: Harness) -> None:
    side, client = await harness.connect(idle)
    side.outlet.send("a")
    side.outlet.send("é" * 200)  # a two-byte length header, and UTF-8
    assert not side.outlet.backlogged  # written, no task
    assert await read_frames(client, 2) == ["a", "é" * 200]
    side.outlet.close(CloseCode.REPLACED, "replaced")
    assert await read_until_closed(client) == ([], CloseCode.REPLACED)


async def test_frames_queue_in_order_while_the_client_is_not_reading(harness: Harness) -> None:
    side, client = await harness.connect(idle, limit=100)
    sent: list[str] = []
    await fill_until_backlogged(side.outlet, sent)
    for n in range(5):
        side.outlet.send(f"queued {n}")
        sent.append(f"queued {n}")
    assert state(side.outlet) == (True, False)
    assert await read_frames(client, len(sent)) == sent
    for _ in range(100):  # the drain task finishes once the client has read everything
        if not side.outlet.backlogged:
            break
        await asyncio.sleep(0.01)
    assert state(side.outlet) == (False, False)
    side.outlet.send("direct again")
    assert state(side.outlet) == (False, False)
    assert await read_frames(client, 1) == ["direct again"]


async def test_a_client_that_falls_too_far_behind_is_closed_as_slow(harness: Harness) -> None:
    side, client = await harness.connect(idle, limit=2)
    sent: list[str] = []
    await fill_until_backlogged(side.outlet, sent)
    side.outlet.send("q1")
    side.outlet.send("q2")
    assert state(side.outlet) == (True, False)
    side.outlet.send("q3")  # the third queued frame is one too many
    assert state(side.outlet) == (True, True)
    side.outlet.send("late")  # dropped: resume replays what the client missed
    # The queue was dropped; nothing was reordered or cut in half.
    assert await read_until_closed(client) == (sent, CloseCode.SLOW_CONSUMER)


async def test_close_waits_for_the_queued_frames(harness: Harness) -> None:
    side, client = await harness.connect(idle, limit=100)
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
    assert side.outlet.closing
    await asyncio.wait_for(side.outlet.wait_closed(), 10)
