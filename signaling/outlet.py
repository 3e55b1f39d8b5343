"""Bounded send queue of one WebSocket: a slow client only ever hurts itself."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from signaling.codes import CloseCode

_BROKEN = (ConnectionError, RuntimeError)


class Outlet:
    """Writes frames to one WebSocket in order, at once while the socket keeps up.

    An idle connection owns no task, event or buffer: a frame is written synchronously when
    nothing is waiting, which saves a task wake-up per relayed frame. Only when aiohttp has to
    wait for the socket to drain does a task take over, and later frames queue behind it.
    """

    __slots__ = ("_backlog", "_closing", "_limit", "_task", "_ws")

    def __init__(self, ws: web.WebSocketResponse, limit: int) -> None:
        self._ws = ws
        self._limit = limit
        self._backlog: deque[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None

    @property
    def closing(self) -> bool:
        """Whether a close has been requested."""
        return self._closing is not None

    def send(self, frame: str) -> None:
        """Write or queue a frame; overflowing the queue closes the connection as a slow consumer."""
        if self._closing is not None:
            return
        if self._task is None:
            self._write_now(frame)
            return
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = deque()
        if len(backlog) >= self._limit:
            # Whatever is queued will be replayed on resume; the socket is not keeping up.
            self._backlog = None
            self.close(CloseCode.SLOW_CONSUMER, "slow_consumer")
            return
        backlog.append(frame)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued; the first request wins."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain(None))

    async def wait_closed(self) -> None:
        """Wait until queued frames and the close are written (cancelling this stops them)."""
        if self._task is not None:
            await self._task

    def _write_now(self, frame: str) -> None:
        # Run aiohttp's send up to its first suspension. An uncompressed frame is handed to
        # the transport synchronously; aiohttp only suspends for flow control, and then the
        # rest of that send and everything after it belongs to a task.
        if self._ws.closed:
            return
        write = self._ws.send_str(frame)
        try:
            waiter = write.send(None)
        except StopIteration:
            return
        except _BROKEN:
            self._broken()
            return
        self._task = asyncio.ensure_future(self._drain(_Suspended(write, waiter)))

    async def _drain(self, pending: _Suspended | None) -> None:
        ws = self._ws
        try:
            if pending is not None:
                await pending.finish()
            while self._backlog:
                if ws.closed:
                    break
                await ws.send_str(self._backlog.popleft())
            self._backlog = None
            if self._closing is None:
                self._task = None  # caught up: back to writing directly
                return
            code, reason = self._closing
            await ws.close(code=code, message=reason.encode())
        except _BROKEN:
            self._broken()

    def _broken(self) -> None:
        # The peer vanished while we wrote: drop what is left (resume replays it) and stop
        # writing; the reader notices the dead socket and cleans up.
        self._backlog = None
        if self._closing is None:
            self._closing = (CloseCode.NORMAL, "")


class _Suspended:
    """A coroutine that `send(None)` left waiting on `waiter`; `finish` resumes it as a task would."""

    __slots__ = ("_coro", "_waiter")

    def __init__(self, coro: Coroutine[Any, Any, None], waiter: Any) -> None:
        self._coro = coro
        self._waiter = waiter

    async def finish(self) -> None:
        coro = self._coro
        waiter = self._waiter
        try:
            while True:
                if waiter is None:
                    await asyncio.sleep(0)  # a bare yield asks for one loop iteration
                else:
                    # Wait without raising: the coroutine itself sees the outcome on resume.
                    await asyncio.wait((waiter,))
                try:
                    waiter = coro.send(None)
                except StopIteration:
                    return
        finally:
            coro.close()  # no-op once finished; stops it cleanly when we are cancelled
