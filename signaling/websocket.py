"""The WebSocket under a connection: text frames handled as they are parsed, and written straight
to the transport.

aiohttp's `receive()` hands each frame to the handler's task: the parser queues it, wakes the
task, and the task resumes through `receive()` and the queue's `read()`. For a relay that is most
of the interpreter's work per frame. `DirectWebSocket` lets a connection take a text frame the
moment the parser produces it (on the transport's read callback) whenever nothing is queued before
it; frames it declines, and every frame while an earlier one is still queued or being handled,
take aiohttp's ordinary path, so order is kept.

That hook needs aiohttp's parser queue, which is not public API. `DirectWebSocket` builds it only
when the installed aiohttp has the shape it was written against and otherwise behaves exactly
like `WebSocketResponse` (`direct` is then False and every frame takes `receive()`); a test
checks that the pinned aiohttp takes the direct path.

`TextFrameWriter` writes server frames (RFC 6455 section 5.2: FIN + text opcode, unmasked) with
one `transport.write`, using only public API: `request.transport`, and the payload writer's
`drain()` for flow control.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

logger = logging.getLogger(__name__)

# Returns True when it handled the frame; False hands the frame to `receive()` untouched.
TextHandler = Callable[[str], bool]

_TEXT = WSMsgType.TEXT


def _direct_queue_type() -> tuple[type[Any], Any, int] | None:
    """aiohttp's parser queue subclassed to offer frames first, with its parser; None if absent."""
    try:  # private modules: looked up defensively
        from aiohttp._websocket import reader
        from aiohttp.helpers import DEFAULT_CHUNK_SIZE
    except ImportError:  # pragma: no cover - depends on the installed aiohttp
        return None
    base: Any = getattr(reader, "WebSocketDataQueue", None)
    parser: Any = getattr(reader, "WebSocketReader", None)
    if base is None or parser is None:  # pragma: no cover
        return None
    if not hasattr(web.WebSocketResponse, "_on_data_received"):  # pragma: no cover
        return None

    class DirectQueue(base):  # type: ignore[misc]
        """aiohttp's parser queue, offering each text frame to `handler` before queueing it."""

        # A Python subclass of the compiled queue: the parser's call to feed_data dispatches
        # here (a cpdef method honours Python overrides). Slots: one queue per open socket.
        __slots__ = ("busy", "handler")
        handler: TextHandler | None
        busy: bool

        def __init__(self, protocol: Any, limit: int, *, loop: asyncio.AbstractEventLoop) -> None:
            super().__init__(protocol, limit, loop=loop)
            self.handler = None
            # True while the reading task holds a frame from `receive()`: later frames must
            # queue behind it.
            self.busy = False

        def feed_data(self, data: Any, size: int) -> None:
            handler = self.handler
            if (
                handler is not None
                and not self.busy
                and not self._buffer
                and data[0] is _TEXT
                and handler(data[1])
            ):
                return
            super().feed_data(data, size)

    return DirectQueue, parser, DEFAULT_CHUNK_SIZE


_DIRECT_PARTS = _direct_queue_type()
DIRECT_AVAILABLE = _DIRECT_PARTS is not None


class DirectWebSocket(web.WebSocketResponse):
    """A server WebSocket whose text frames can be taken as they are parsed (see module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct_queue: Any = None

    @property
    def direct(self) -> bool:
        """Whether frames can be taken on the read callback (the socket must be prepared)."""
        return self._direct_queue is not None

    def take_text(self, handler: TextHandler | None) -> None:
        """Offer every later text frame to `handler` first (None: stop offering)."""
        if self._direct_queue is not None:
            self._direct_queue.handler = handler

    def holding(self, busy: bool) -> None:
        """Tell the socket the reading task holds a frame from `receive()` (True) or waits (False)."""
        if self._direct_queue is not None:
            self._direct_queue.busy = busy

    def _post_start(self, request: Any, protocol: Any, writer: Any) -> None:
        # aiohttp's own _post_start, with our queue. Any mismatch with the installed aiohttp
        # leaves the socket exactly as aiohttp would set it up.
        if _DIRECT_PARTS is None:
            super()._post_start(request, protocol, writer)
            return
        queue_type, parser_type, chunk = _DIRECT_PARTS
        try:
            queue = queue_type(request._protocol, chunk, loop=self._loop)
            parser = parser_type(
                queue,
                self._max_msg_size,
                compress=bool(self._compress),
                decode_text=self._decode_text,
            )
        except (AttributeError, TypeError):
            logger.warning("aiohttp's WebSocket parser has changed; frames take receive()")
            super()._post_start(request, protocol, writer)
            return
        self._ws_protocol = protocol
        self._writer = writer
        self._reset_heartbeat()
        self._reader = queue
        self._parser = parser  # the protocol keeps the parser by weak reference when stalled
        callback = None if self._heartbeat is None else self._on_data_received
        request.protocol.set_parser(parser, data_received_cb=callback)
        request.protocol.keep_alive(False)
        self._direct_queue = queue


_HEADERS_SHORT = [bytes((0x81, n)) for n in range(126)]
_PACK_MEDIUM = struct.Struct("!BBH").pack
_PACK_LONG = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame carrying `payload` (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        return _HEADERS_SHORT[size] + payload
    if size < 65536:
        return _PACK_MEDIUM(0x81, 126, size) + payload
    return _PACK_LONG(0x81, 127, size) + payload


class SocketGone(ConnectionError):
    """The transport is closing or closed: nothing more can be written."""


class TextFrameWriter:
    """Writes server text frames straight to a connection's transport."""

    __slots__ = ("_drain", "_high", "_transport")

    def __init__(self, transport: asyncio.Transport, drain: Callable[[], Awaitable[None]]) -> None:
        self._transport = transport
        self._drain = drain
        # The buffer size above which the transport has asked its protocol to pause writing,
        # so that `drain()` waits rather than returns.
        self._high = transport.get_write_buffer_limits()[1]

    def write(self, frame: str) -> bool:
        """Write a frame; False once the transport's buffer is above its high-water mark.

        Raises SocketGone when the transport is closing.
        """
        transport = self._transport
        if transport.is_closing():
            raise SocketGone("the socket is closed")
        transport.write(text_frame(frame.encode()))
        return transport.get_write_buffer_size() <= self._high

    async def drain(self) -> None:
        """Wait until the transport's buffer is back under its low-water mark."""
        if self._transport.is_closing():
            raise SocketGone("the socket is closed")
        await self._drain()
