"""The outlet writes at once while the socket keeps up, queues in order while it drains, and
closes a consumer that falls too far behind with 4008."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiohttp import web

from signaling.codes import CloseCode
from signaling.outlet import Outlet


class FakeSocket:
    """Records frames; while `paused`, each send waits for the socket to drain, as aiohttp does."""

    def __init__(self) -> None:
        self.closed = False
        self.frames: list[str] = []
        self.close_code: int | None = None
        self.paused: asyncio.Future[None] | None = None

    async def send_str(self, data: str) -> None:
        self.frames.append(data)
        if self.paused is not None:
            await self.paused

    async def close(self, *, code: int, message: bytes) -> None:
        self.close_code = code
        self.closed = True

    def drained(self) -> None:
        assert self.paused is not None
        self.paused.set_result(None)
        self.paused = None


def outlet_for(ws: FakeSocket, limit: int = 4) -> Outlet:
    return Outlet(cast(web.WebSocketResponse, cast(Any, ws)), limit)


async def test_frames_are_written_synchronously_while_the_socket_keeps_up() -> None:
    ws = FakeSocket()
    outlet = outlet_for(ws)
    outlet.send("a")
    outlet.send("b")
    assert ws.frames == ["a", "b"]  # no task, no loop iteration
    outlet.close(CloseCode.NORMAL, "")
    await outlet.wait_closed()
    assert ws.close_code == CloseCode.NORMAL


async def test_frames_queue_in_order_behind_a_draining_socket() -> None:
    ws = FakeSocket()
    ws.paused = asyncio.get_running_loop().create_future()
    outlet = outlet_for(ws)
    outlet.send("1")  # handed over, then aiohttp waits for the drain
    outlet.send("2")
    outlet.send("3")
    assert ws.frames == ["1"]
    ws.drained()
    for _ in range(20):
        await asyncio.sleep(0)
    assert ws.frames == ["1", "2", "3"]
    outlet.send("4")  # caught up: direct again
    assert ws.frames == ["1", "2", "3", "4"]
    assert not outlet.closing


async def test_a_consumer_that_falls_behind_is_closed_as_slow() -> None:
    ws = FakeSocket()
    ws.paused = asyncio.get_running_loop().create_future()
    outlet = outlet_for(ws, limit=2)
    for n in range(4):
        outlet.send(str(n))
    assert outlet.closing
    outlet.send("late")  # dropped: the session is replayed on resume
    ws.drained()
    await outlet.wait_closed()
    assert ws.close_code == CloseCode.SLOW_CONSUMER
    assert ws.frames == ["0"]


async def test_close_waits_for_queued_frames() -> None:
    ws = FakeSocket()
    ws.paused = asyncio.get_running_loop().create_future()
    outlet = outlet_for(ws)
    outlet.send("1")
    outlet.send("2")
    outlet.close(CloseCode.REPLACED, "replaced")
    ws.drained()
    await outlet.wait_closed()
    assert ws.frames == ["1", "2"]
    assert ws.close_code == CloseCode.REPLACED


async def test_a_vanished_peer_stops_the_outlet() -> None:
    ws = FakeSocket()

    async def broken(data: str) -> None:
        raise ConnectionResetError("gone")

    ws.send_str = broken  # type: ignore[method-assign]
    outlet = outlet_for(ws)
    outlet.send("1")
    assert outlet.closing
