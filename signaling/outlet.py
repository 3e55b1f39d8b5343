"""Bounded send queue of one WebSocket: a slow client only ever hurts itself."""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import web

from signaling.codes import CloseCode
from signaling.stats import Stats

_BROKEN = (ConnectionError, RuntimeError)


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8 (what a frame costs on the wire and, near enough, in memory)."""
    # isascii() reads a flag of the string; only non-ASCII text pays for an encode.
    return len(text) if text.isascii() else len(text.encode())


class Outlet:
    """Writes frames to one WebSocket in order through `WebSocketResponse.send_str`.

    An idle connection owns no task: a writer task is started when a frame arrives and ends
    when the queue is empty. aiohttp's writer waits for the socket to drain once its buffer
    is past the high-water mark, so a client that stops reading leaves frames in this queue;
    past `limit` bytes the connection is closed as a slow consumer (4008).
    """

    __slots__ = ("_backlog", "_bytes", "_closing", "_limit", "_stats", "_task", "_ws")

    def __init__(self, ws: web.WebSocketResponse, limit: int, stats: Stats) -> None:
        self._ws = ws
        self._limit = limit
        self._stats = stats
        # Created by the first frame and dropped once written: an empty deque costs about
        # 600 bytes, which an idle connection need not pay.
        self._backlog: deque[str] | None = None
        self._bytes = 0
        self._task: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None

    @property
    def closing(self) -> bool:
        """Whether a close has been requested."""
        return self._closing is not None

    @property
    def close_request(self) -> tuple[int, str] | None:
        """The close this side asked for (code, reason), if any."""
        return self._closing

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for the socket."""
        return self._bytes

    def send(self, frame: str) -> None:
        """Queue a frame; overflowing the queue closes the connection as a slow consumer."""
        if self._closing is not None:
            return
        size = utf8_size(frame)
        if self._bytes and self._bytes + size > self._limit:
            # Whatever is queued will be replayed on resume; the socket is not keeping up.
            self._drop_backlog()
            self.close(CloseCode.SLOW_CONSUMER, "slow_consumer")
            return
        self._bytes += size
        self._stats.queue_bytes += size
        if self._backlog is None:
            self._backlog = deque()
        self._backlog.append(frame)
        if self._task is None:
            self._task = asyncio.ensure_future(self._write())

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued; the first request wins."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        if self._task is None:
            self._task = asyncio.ensure_future(self._write())

    async def wait_closed(self) -> None:
        """Wait until queued frames and the close are written (cancelling this stops them)."""
        if self._task is not None:
            await self._task

    async def _write(self) -> None:
        ws = self._ws
        backlog = self._backlog if self._backlog is not None else deque()
        stats = self._stats
        try:
            while backlog:
                frame = backlog[0]
                await ws.send_str(frame)
                # Popped after the write: a close for slowness meanwhile has emptied the queue.
                if backlog and backlog[0] is frame:
                    backlog.popleft()
                    size = utf8_size(frame)
                    self._bytes -= size
                    stats.queue_bytes -= size
            if self._closing is None:
                # Caught up: the next frame starts a new writer, with a new queue.
                self._task = None
                self._backlog = None
                return
            code, reason = self._closing
            await ws.close(code=code, message=reason.encode())
        except _BROKEN:
            self._broken()
        finally:
            if self._closing is not None:
                self._drop_backlog()

    def _drop_backlog(self) -> None:
        self._stats.queue_bytes -= self._bytes
        self._bytes = 0
        if self._backlog is not None:
            self._backlog.clear()

    def _broken(self) -> None:
        # The peer vanished while we wrote: drop what is left (resume replays it) and stop
        # writing; the reader notices the dead socket and cleans up.
        self._drop_backlog()
        if self._closing is None:
            self._closing = (CloseCode.NORMAL, "")
