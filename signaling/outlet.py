"""Bounded send queue of one WebSocket: a slow client only ever hurts itself."""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import web

from signaling.codes import CloseCode


class Outlet:
    """Frames waiting to be written to one WebSocket; a writer task drains them in order."""

    __slots__ = ("_closing", "_limit", "_queue", "_wake", "_ws")

    def __init__(self, ws: web.WebSocketResponse, limit: int) -> None:
        self._ws = ws
        self._limit = limit
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._closing: tuple[int, str] | None = None

    @property
    def closing(self) -> bool:
        """Whether a close has been requested."""
        return self._closing is not None

    def send(self, frame: str) -> None:
        """Queue a frame; overflowing the queue closes the connection as a slow consumer."""
        if self._closing is not None:
            return
        if len(self._queue) >= self._limit:
            # Whatever is queued will be replayed on resume; the socket is not keeping up.
            self._queue.clear()
            self.close(CloseCode.SLOW_CONSUMER, "slow_consumer")
            return
        self._queue.append(frame)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued; the first request wins."""
        if self._closing is None:
            self._closing = (code, reason)
            self._wake.set()

    async def run(self) -> None:
        """Write queued frames until closed."""
        ws = self._ws
        queue = self._queue
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while queue:
                    if ws.closed:
                        queue.clear()
                        break
                    await ws.send_str(queue.popleft())
                if self._closing is not None:
                    code, reason = self._closing
                    await ws.close(code=code, message=reason.encode())
                    return
        except (ConnectionError, RuntimeError):
            # The peer vanished while we wrote; the reader notices and cleans up.
            queue.clear()
