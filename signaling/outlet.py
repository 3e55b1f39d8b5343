"""Bounded send queue of one WebSocket: a slow client only ever hurts itself."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from signaling.codes import CloseCode
from signaling.websocket import TextFrameWriter

_BROKEN = (ConnectionError, RuntimeError)

Closer = Callable[[int, str], Awaitable[object]]


class Outlet:
    """Writes frames to one WebSocket in order, at once while the socket keeps up.

    An idle connection owns no task, event or buffer: a frame is written synchronously while the
    transport's buffer is under its high-water mark. Past it, a task waits for the socket to
    drain and later frames queue behind it, up to `limit` of them.
    """

    __slots__ = ("_backlog", "_close", "_closing", "_limit", "_task", "_writer")

    def __init__(self, writer: TextFrameWriter, close: Closer, limit: int) -> None:
        self._writer = writer
        self._close = close
        self._limit = limit
        self._backlog: deque[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None

    @property
    def closing(self) -> bool:
        """Whether a close has been requested."""
        return self._closing is not None

    @property
    def backlogged(self) -> bool:
        """Whether a task is waiting for the socket to drain (later frames queue behind it)."""
        return self._task is not None

    def send(self, frame: str) -> None:
        """Write or queue a frame; overflowing the queue closes the connection as a slow consumer."""
        if self._closing is not None:
            return
        if self._task is None:
            try:
                if self._writer.write(frame):
                    return
            except _BROKEN:
                self._broken()
                return
            self._task = asyncio.ensure_future(self._drain())
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
            self._task = asyncio.ensure_future(self._drain())

    async def wait_closed(self) -> None:
        """Wait until queued frames and the close are written (cancelling this stops them)."""
        if self._task is not None:
            await self._task

    async def _drain(self) -> None:
        writer = self._writer
        try:
            while True:
                await writer.drain()
                backlog = self._backlog
                # Write until the transport is full again or the backlog is empty.
                while backlog and writer.write(backlog.popleft()):
                    pass
                if not backlog:
                    break
            self._backlog = None
            if self._closing is None:
                self._task = None  # caught up: back to writing directly
                return
            code, reason = self._closing
            await self._close(code, reason)
        except _BROKEN:
            self._broken()

    def _broken(self) -> None:
        # The peer vanished while we wrote: drop what is left (resume replays it) and stop
        # writing; the reader notices the dead socket and cleans up.
        self._backlog = None
        if self._closing is None:
            self._closing = (CloseCode.NORMAL, "")
