"""The client side of protocol v1 over an aiohttp WebSocket: seq, acks and resume."""

from __future__ import annotations

import contextlib
import json
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from signaling.codes import PROTOCOL_VERSION


class ChannelClosed(Exception):
    """The server closed the connection; `code` and `reason` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Welcome:
    """What the server told us in `welcome`."""

    participant: str
    room: str
    role: str
    polite: bool
    resume_id: str
    resume_window: float
    ice_servers: list[dict[str, Any]]


class SignalingChannel:
    """One participant's signaling session; survives dropped sockets through `resume`."""

    def __init__(self, http: aiohttp.ClientSession, url: str, origin: str) -> None:
        self._http = http
        self._url = url
        self._origin = origin
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._out_seq = 0
        self._unacked: deque[tuple[int, str]] = deque()
        self._last_seq = 0
        self._resent_from = 0  # the last seq_gap answered by resending
        self.welcome: Welcome | None = None
        self.errors: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def last_seq(self) -> int:
        """Highest server stream seq processed."""
        return self._last_seq

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self._http.ws_connect(
            self._url, origin=self._origin, autoping=True, max_msg_size=0
        )
        self._ws = ws
        return ws

    async def _handshake_reply(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                self._note_close(ws, msg)
                raise ChannelClosed(self.close_code, self.close_reason)
            data: dict[str, Any] = json.loads(msg.data)
            if data.get("type") == "error":
                self.errors.append(data)
                continue
            return data

    def _note_close(self, ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage) -> None:
        self.close_code = ws.close_code
        if msg.type is aiohttp.WSMsgType.CLOSE:
            # The code in the server's close frame: ws.close_code is 1006 when the server has
            # closed TCP before our reply went out.
            self.close_code = int(msg.data)
            self.close_reason = str(msg.extra or "")

    async def hello(self, ticket: str) -> Welcome:
        """Authenticate with a ticket."""
        ws = await self._open()
        await ws.send_str(json.dumps({"v": PROTOCOL_VERSION, "type": "hello", "ticket": ticket}))
        data = await self._handshake_reply(ws)
        self.welcome = Welcome(
            data["participant"],
            data["room"],
            data["role"],
            bool(data["polite"]),
            data["resume_id"],
            float(data["resume_window"]),
            list(data["ice_servers"]),
        )
        return self.welcome

    async def resume(self, url: str | None = None) -> dict[str, Any]:
        """Reconnect and take the session back; resend what the server has not processed.

        `url` moves the session to another instance (the one it was on may be gone)."""
        assert self.welcome is not None, "hello first"
        if url is not None:
            self._url = url
        ws = await self._open()
        frame = {
            "v": PROTOCOL_VERSION,
            "type": "resume",
            "resume_id": self.welcome.resume_id,
            "last_seq": self._last_seq,
        }
        await ws.send_str(json.dumps(frame))
        data = await self._handshake_reply(ws)
        self._trim(int(data["ack"]))
        for _, raw in list(self._unacked):
            await ws.send_str(raw)
        return data

    def _trim(self, ack: int) -> None:
        while self._unacked and self._unacked[0][0] <= ack:
            self._unacked.popleft()

    async def send(self, kind: str, **fields: Any) -> int:
        """Send a session frame; returns its seq."""
        self._out_seq += 1
        raw = json.dumps({"type": kind, "seq": self._out_seq, **fields})
        self._unacked.append((self._out_seq, raw))
        if self._ws is not None and not self._ws.closed:
            # On failure the frame stays in _unacked: a resume resends it.
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.send_str(raw)
        return self._out_seq

    async def send_raw(self, raw: str) -> None:
        """Send text as is (tests of malformed frames)."""
        assert self._ws is not None
        await self._ws.send_str(raw)

    async def receive(self) -> dict[str, Any]:
        """Next stream frame (acknowledged), or ChannelClosed."""
        ws = self._ws
        assert ws is not None, "hello first"
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                self._note_close(ws, msg)
                raise ChannelClosed(self.close_code, self.close_reason)
            data: dict[str, Any] = json.loads(msg.data)
            kind = data.get("type")
            seq = data.get("seq")
            if kind == "ack":
                self._trim(int(data["ack"]))
                continue
            if kind == "error":
                self.errors.append(data)
                if data.get("code") == "seq_gap":
                    await self._resend_from(ws, data.get("expected"))
                continue
            if not isinstance(seq, int):
                return data
            if seq <= self._last_seq:
                continue
            self._last_seq = seq
            # The socket may be closing under us (a 4008, say): the resume acks instead.
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(f'{{"type":"ack","ack":{seq}}}')
            return data

    async def _resend_from(self, ws: aiohttp.ClientWebSocketResponse, expected: object) -> None:
        """Send again, in order, the frames from the seq the server waits for (once per gap)."""
        if not isinstance(expected, int) or expected <= self._resent_from:
            return
        self._resent_from = expected
        for seq, raw in list(self._unacked):
            if seq >= expected:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(raw)

    async def receive_type(self, *kinds: str) -> dict[str, Any]:
        """Skip frames until one of the given types arrives."""
        while True:
            data = await self.receive()
            if data.get("type") in kinds:
                return data

    async def drop(self) -> None:
        """Lose the socket without a goodbye, as a network failure would.

        The TCP connection is shut down in both directions before aiohttp's close runs, so
        the server reads the end of the stream with no close frame (as after a cable pull),
        and our close frame has nowhere to go."""
        ws = self._ws
        if ws is None:
            return
        sock = ws.get_extra_info("socket")
        if sock is not None:
            # A duplicate of the event loop's descriptor (fromfd dups it): shutdown acts on
            # the connection both share, and closing the duplicate leaves the loop's own.
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as raw:
                raw.shutdown(socket.SHUT_RDWR)
        await ws.close()

    async def close(self) -> None:
        """Close the socket politely."""
        if self._ws is not None:
            await self._ws.close()
