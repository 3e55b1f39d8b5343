"""One WebSocket connection: handshake, frame dispatch, delivery and resume."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from aiohttp import WSMsgType

from signaling.admission import Admission, Role
from signaling.bus import RelayOutcome, SessionRecord, Subscription
from signaling.codes import PROTOCOL_VERSION, CloseCode, ErrorCode
from signaling.hub import Hub
from signaling.outlet import Outlet
from signaling.protocol import (
    Ack,
    Chat,
    ClientFrame,
    End,
    Hello,
    HostAction,
    Join,
    Leave,
    ProtocolError,
    Relay,
    Resume,
    SessionFrame,
    ack_frame,
    encode,
    error_frame,
    parse_frame,
    parse_handshake,
    relay_body,
    with_seq,
)
from signaling.ratelimit import TokenBucket
from signaling.room import (
    NotHost,
    Participant,
    Presence,
    RoomEnded,
    RoomError,
    RoomFull,
    RoomState,
    Status,
    UnknownParticipant,
)
from signaling.turn import credential_expiry, ice_servers_for
from signaling.websocket import DirectWebSocket

logger = logging.getLogger(__name__)

CLOSE_REASONS = {
    CloseCode.DENIED: "denied",
    CloseCode.REMOVED: "removed",
    CloseCode.ENDED: "ended",
}


# What ends the frame loop; an ERROR is followed by CLOSED, as with `async for` over the socket.
_SOCKET_DONE = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)


def _parse_token(token: str) -> tuple[int, int]:
    gen, _, conn = token.partition(".")
    return int(gen), int(conn)


class Connection:
    """Serves one WebSocket from the handshake to the close."""

    # One per open socket: slots keep idle connections small.
    __slots__ = (
        "attached",
        "bucket",
        "bus",
        "conn",
        "direct",
        "finished",
        "frames_since_ack",
        "gen",
        "handed",
        "hub",
        "in_seq",
        "outlet",
        "pid",
        "replaying",
        "role",
        "room_id",
        "sent_seq",
        "stash",
        "subscription",
        "token",
        "url_room",
        "user_id",
        "violations",
        "ws",
    )

    def __init__(self, hub: Hub, ws: DirectWebSocket, outlet: Outlet, url_room: str | None) -> None:
        self.hub = hub
        self.bus = hub.bus
        # Relays and acks are handled on the socket's read callback when the bus needs no I/O.
        self.direct = hub.bus.direct
        self.ws = ws
        self.url_room = url_room
        self.outlet = outlet
        limits = hub.limits
        self.bucket = TokenBucket(limits.rate_per_second, limits.rate_burst, time.monotonic())
        self.violations = 0
        self.room_id = ""
        self.pid = ""
        self.user_id = ""
        self.role = Role.GUEST
        self.gen = 0
        self.conn = 0
        self.token = ""
        self.sent_seq = 0
        self.in_seq = 0
        self.frames_since_ack = 0
        self.attached = False
        # Set when the session ends for good, so the close is not a "reconnecting".
        self.finished = False
        self.replaying = False
        self.stash: list[tuple[int, int, str]] = []
        self.subscription: Subscription | None = None
        # A frame on_text_now checked and parsed but left to on_text, with its text.
        self.handed: tuple[str, ClientFrame] | None = None

    # --- lifetime ------------------------------------------------------------------------
    async def serve(self) -> None:
        """Run until the socket closes."""
        self.hub.outlets.add(self.outlet)
        try:
            if await self._handshake():
                await self._read_frames()
        finally:
            self.hub.outlets.discard(self.outlet)
            if self.subscription is not None:
                await self.subscription.close()
            if self.attached and not self.finished:
                await self._disconnected()
            self.outlet.close(CloseCode.NORMAL, "")
            # Bounded: a peer that stops reading must not hold this handler forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.hub.limits.handshake_timeout):
                    await self.outlet.wait_closed()

    async def _read_frames(self) -> None:
        # Frames on_text_now takes never reach this loop; the rest arrive here in order.
        ws = self.ws
        receive = ws.receive
        on_text = self.on_text
        outlet = self.outlet
        ws.take_text(self.on_text_now)
        try:
            while True:
                ws.holding(False)
                msg = await receive()
                ws.holding(True)
                # A close requested while this frame waited (by the previous frame, or by one
                # handled on the read callback): nothing after it is handled. (Once the socket
                # is closed, receive() returns CLOSED at once, so coming back here is safe.)
                if outlet.closing:
                    return
                kind = msg.type
                if kind is WSMsgType.TEXT:
                    await on_text(msg.data)
                elif kind is WSMsgType.BINARY:
                    self._error(ErrorCode.BAD_JSON, "binary frames are not accepted", None)
                elif kind in _SOCKET_DONE:
                    return
        finally:
            ws.take_text(None)

    async def _handshake(self) -> bool:
        try:
            msg = await self.ws.receive(timeout=self.hub.limits.handshake_timeout)
        except TimeoutError:
            self.outlet.close(CloseCode.POLICY, "hello timeout")
            return False
        if msg.type is not WSMsgType.TEXT:
            self.outlet.close(CloseCode.POLICY, "expected hello")
            return False
        try:
            first = parse_handshake(msg.data)
        except ProtocolError as exc:
            self._error(exc.code, exc.message, None)
            self.outlet.close(CloseCode.POLICY, "expected hello")
            return False
        if isinstance(first, Hello):
            return await self._hello(first)
        return await self._resume(first)

    def _error(self, code: ErrorCode, message: str, ref: int | None) -> None:
        self.outlet.send(error_frame(code, message, ref))

    def _attach(self, room_id: str, member: Participant) -> None:
        self.room_id = room_id
        self.pid = member.pid
        self.user_id = member.user_id
        self.role = member.role
        self.gen = member.gen
        self.conn = member.conn
        self.token = member.token
        self.attached = True

    # --- handshake -----------------------------------------------------------------------
    async def _hello(self, hello: Hello) -> bool:
        hub = self.hub
        admission = await hub.config.authorizer.authorize(hello.ticket)
        now = hub.clock.now()
        if (
            admission is None
            or (self.url_room is not None and admission.room_id != self.url_room)
            or admission.window_end <= now
        ):
            self.outlet.close(CloseCode.UNAUTHORIZED, "unauthorized")
            return False
        limit = hub.limits.max_participants
        try:
            connected = await self.bus.update_room(
                admission.room_id, lambda s: s.connect(admission, limit)
            )
        except RoomFull:
            self._error(ErrorCode.ROOM_FULL, "the room is full", None)
            self.outlet.close(CloseCode.ROOM_FULL, "room_full")
            return False
        except RoomEnded:
            self.outlet.close(CloseCode.ENDED, "ended")
            return False
        member = connected.participant
        resume_id = secrets.token_urlsafe(32)
        record = SessionRecord(
            admission.room_id,
            member.pid,
            member.gen,
            member.user_id,
            member.display_name,
            member.role.value,
        )
        await self.bus.save_session(resume_id, record, self._session_ttl(admission))
        self._attach(admission.room_id, member)
        self.subscription = await self.bus.subscribe(self.room_id, self.pid, self._on_frame)
        if connected.replaced:
            await self.bus.announce_owner(self.room_id, self.pid, self.token)
        self.outlet.send(encode(self._welcome(admission, member, resume_id)))
        return True

    def _session_ttl(self, admission: Admission) -> float:
        left = admission.window_end.timestamp() - self.hub.clock.now().timestamp()
        return max(left, 0.0) + self.hub.config.resume_window + 60.0

    def _welcome(
        self, admission: Admission, member: Participant, resume_id: str
    ) -> dict[str, object]:
        config = self.hub.config
        expiry = credential_expiry(
            self.hub.clock.now(),
            admission.window_end,
            int(config.resume_window),
            config.turn.minimum_lifetime,
        )
        servers = ice_servers_for(
            config.turn.turn_urls,
            config.turn.stun_urls,
            config.turn.secret,
            admission.user_id,
            expiry,
        )
        return {
            "type": "welcome",
            "v": PROTOCOL_VERSION,
            "participant": member.pid,
            "room": admission.room_id,
            "role": member.role.value,
            "display_name": member.display_name,
            "polite": member.role is Role.GUEST,
            "resume_id": resume_id,
            "resume_window": config.resume_window,
            "ack": 0,
            "ice_servers": [s.to_json() for s in servers],
        }

    async def _resume(self, resume: Resume) -> bool:
        record = await self.bus.load_session(resume.resume_id)
        if record is None or (self.url_room is not None and record.room_id != self.url_room):
            self.outlet.close(CloseCode.RESUME_FAILED, "resume_failed")
            return False
        now = self.hub.clock.now().timestamp()

        def take_back(state: RoomState) -> tuple[Participant | None, bool]:
            before = state.participants.get(record.pid)
            was_away = before is not None and before.presence is Presence.RECONNECTING
            return state.resume(record.pid, record.gen, now), was_away

        member, was_away = await self.bus.update_room(record.room_id, take_back)
        if member is None:
            self.outlet.close(CloseCode.RESUME_FAILED, "resume_failed")
            return False
        self._attach(record.room_id, member)
        # Subscribe before reading the buffer so nothing falls between the two.
        self.replaying = True
        self.subscription = await self.bus.subscribe(self.room_id, self.pid, self._on_frame)
        await self.bus.announce_owner(self.room_id, self.pid, self.token)
        frames = await self.bus.pending(self.room_id, self.pid, resume.last_seq)
        if frames is None:
            self.outlet.close(CloseCode.RESUME_FAILED, "resume_failed")
            return False
        self.in_seq = await self.bus.processed(self.room_id, self.pid)
        self.outlet.send(
            encode(
                {
                    "type": "resumed",
                    "participant": self.pid,
                    "ack": self.in_seq,
                    "resume_window": self.hub.config.resume_window,
                }
            )
        )
        self.sent_seq = resume.last_seq
        for seq, close, body in frames:
            self._emit(seq, close, body)
        stash, self.stash = self.stash, []
        self.replaying = False
        for seq, close, body in stash:
            self._emit(seq, close, body)
        if was_away and member.status is Status.ADMITTED:
            await self.hub.send_presence(await self.bus.load_room(self.room_id), member, "joined")
        return True

    # --- delivery ------------------------------------------------------------------------
    def _on_frame(self, token: str, seq: int, close: int, body: str) -> None:
        if token != self.token:
            gen, conn = _parse_token(token)
            if gen > self.gen or (gen == self.gen and conn > self.conn):
                # Another tab, or a resume elsewhere, owns this participant now.
                self.finished = True
                self.outlet.close(CloseCode.REPLACED, "replaced")
                return
            if gen < self.gen:
                return
        if seq == 0:
            return
        if self.replaying:
            self.stash.append((seq, close, body))
            return
        self._emit(seq, close, body)

    def _emit(self, seq: int, close: int, body: str) -> None:
        if seq <= self.sent_seq:
            return
        self.sent_seq = seq
        self.outlet.send(with_seq(seq, body))
        if close:
            self.finished = True
            self.outlet.close(close, CLOSE_REASONS.get(CloseCode(close), "closed"))

    # --- incoming frames -----------------------------------------------------------------
    def _accept(self, raw: str) -> ClientFrame | None:
        """Rate-limit and parse a frame; None when it was refused (and answered)."""
        if not self.bucket.take(time.monotonic()):
            self.violations += 1
            if self.violations > self.hub.limits.max_rate_violations:
                self.outlet.close(CloseCode.POLICY, "rate limit")
            else:
                self._error(ErrorCode.RATE_LIMITED, "too many frames", None)
            return None
        self.violations = 0
        try:
            return parse_frame(raw)
        except ProtocolError as exc:
            self._error(exc.code, exc.message, exc.ref)
            return None

    def on_text_now(self, raw: str) -> bool:
        """Handle a frame on the read callback if nothing in it waits; False leaves it to on_text.

        Relays and acks on a bus with a direct path, and refused frames, are handled here;
        anything else is checked and parsed once, and handed to on_text with its text.
        """
        direct = self.direct
        if direct is None or self.outlet.closing:
            return False
        try:
            frame = self._accept(raw)
            if frame is None:
                return True
            if type(frame) is Relay:
                if frame.seq > self.in_seq:
                    outcome = direct.relay_now(
                        self.room_id, self.pid, frame.seq, frame.to, relay_body(frame, self.pid)
                    )
                    self._relayed(outcome, frame.seq)
                return True
            if type(frame) is Ack:
                if frame.ack <= self.sent_seq:
                    direct.ack_now(self.room_id, self.pid, frame.ack)
                return True
            self.handed = (raw, frame)
            return False
        except Exception:
            # Raised into aiohttp's parser, this would leave the socket half-handled.
            logger.exception("signaling frame failed")
            self.outlet.close(CloseCode.INTERNAL_ERROR, "internal_error")
            return True

    async def on_text(self, raw: str) -> None:
        """Handle one text frame after the handshake."""
        handed = self.handed
        if handed is not None and handed[0] is raw:
            self.handed = None
            frame = handed[1]
        else:
            accepted = self._accept(raw)
            if accepted is None:
                return
            frame = accepted
        if isinstance(frame, Ack):
            if frame.ack <= self.sent_seq:
                await self.bus.ack(self.room_id, self.pid, frame.ack)
            return
        if frame.seq <= self.in_seq:
            return  # a resend of a frame processed before a resume
        if type(frame) is Relay:
            outcome = await self.bus.relay(
                self.room_id, self.pid, frame.seq, frame.to, relay_body(frame, self.pid)
            )
            self._relayed(outcome, frame.seq)
            return
        if await self.bus.mark_processed(self.room_id, self.pid, frame.seq):
            self.in_seq = frame.seq
            try:
                await self._dispatch(frame)
            except NotHost:
                self._error(ErrorCode.NOT_HOST, "only the host may do this", frame.seq)
            except UnknownParticipant:
                self._error(ErrorCode.UNKNOWN_PARTICIPANT, "no such participant", frame.seq)
            except RoomError:
                self._error(ErrorCode.BAD_MESSAGE, "not possible now", frame.seq)
        self._processed_one()

    def _relayed(self, outcome: RelayOutcome, seq: int) -> None:
        self.in_seq = seq
        if outcome is not RelayOutcome.DELIVERED and outcome is not RelayOutcome.DUPLICATE:
            self._relay_refused(outcome, seq)
        self._processed_one()

    def _processed_one(self) -> None:
        self.frames_since_ack += 1
        if self.frames_since_ack >= self.hub.limits.server_ack_every:
            self.frames_since_ack = 0
            self.outlet.send(ack_frame(self.in_seq))

    def _relay_refused(self, outcome: RelayOutcome, seq: int) -> None:
        if outcome is RelayOutcome.SENDER_NOT_ADMITTED:
            self._error(ErrorCode.NOT_ADMITTED, "join and be admitted first", seq)
        else:
            self._error(ErrorCode.UNKNOWN_PARTICIPANT, "no such admitted participant", seq)

    async def _dispatch(self, frame: SessionFrame) -> None:
        if isinstance(frame, Join):
            await self._join()
        elif isinstance(frame, HostAction):
            await self._host_action(frame)
        elif isinstance(frame, Chat):
            await self._chat(frame)
        elif isinstance(frame, End):
            await self._end()
        elif isinstance(frame, Leave):
            await self._leave()

    async def _join(self) -> None:
        pid = self.pid

        def enter(state: RoomState) -> tuple[Participant, Status, RoomState]:
            before = state.get(pid).status
            return state.join(pid), before, state

        member, before, state = await self.bus.update_room(self.room_id, enter)
        hub = self.hub
        changed = before is not member.status
        if member.status is Status.WAITING:
            await self.bus.deliver(self.room_id, [pid], encode({"type": "waiting"}))
            await hub.send_lobby(state)
        else:
            await hub.send_admitted(state, member)
            await hub.send_presence(state, member, "joined")
            if member.role is Role.HOST:
                await hub.send_lobby(state)
        if changed:
            await hub.lifecycle.on_join(self.room_id, self.user_id)
            if member.status is Status.ADMITTED:
                await hub.lifecycle.on_admit(self.room_id, self.user_id)

    async def _host_action(self, frame: HostAction) -> None:
        hub = self.hub
        target_pid = frame.participant
        if frame.action == "admit":
            guest, state = await self.bus.update_room(
                self.room_id, lambda s: (s.admit(self.pid, target_pid), s)
            )
            await hub.send_admitted(state, guest)
            await hub.send_presence(state, guest, "joined")
            await hub.send_lobby(state)
            await hub.lifecycle.on_admit(self.room_id, guest.user_id)
            return
        snapshot = await self.bus.load_room(self.room_id)
        if frame.action == "deny":
            target = snapshot.check_deny(self.pid, target_pid)
            await self.bus.deliver(
                self.room_id, [target.pid], encode({"type": "denied"}), CloseCode.DENIED
            )
        else:
            target = snapshot.check_remove(self.pid, target_pid)
            await self.bus.deliver(
                self.room_id, [target.pid], encode({"type": "removed"}), CloseCode.REMOVED
            )
        gone, state = await self.bus.update_room(
            self.room_id, lambda s: (s.drop(target.pid, target.gen), s)
        )
        if gone is None:
            return
        if frame.action == "deny":
            await hub.send_lobby(state)
            await hub.lifecycle.on_deny(self.room_id, gone.user_id)
        else:
            await hub.after_departure(state, gone)

    async def _chat(self, frame: Chat) -> None:
        state = await self.bus.load_room(self.room_id)
        member = state.participants.get(self.pid)
        recipients = state.chat_recipients(self.pid)
        if member is None or recipients is None:
            self._error(ErrorCode.NOT_ADMITTED, "join the room first", frame.seq)
            return
        body = encode(
            {
                "type": "chat",
                "from": self.pid,
                "display_name": member.display_name,
                "text": frame.text,
                "at": self.hub.clock.now().isoformat(),
            }
        )
        await self.bus.deliver(self.room_id, recipients, body)

    async def _end(self) -> None:
        snapshot = await self.bus.load_room(self.room_id)
        snapshot.check_end(self.pid)
        everyone = [p.pid for p in snapshot.participants.values()]
        # The close goes to this connection too, which is cancelled once it arrives: tell the
        # application first, then deliver (while everyone is still a member) and mark the room
        # ended under a shield so neither step is cut off half-way.
        await self.hub.lifecycle.on_end(self.room_id, self.user_id)
        await asyncio.shield(self._close_room(everyone))

    async def _close_room(self, everyone: list[str]) -> None:
        await self.bus.deliver(self.room_id, everyone, encode({"type": "ended"}), CloseCode.ENDED)
        await self.bus.update_room(self.room_id, lambda s: s.end())

    async def _leave(self) -> None:
        gen = self.gen
        gone, state = await self.bus.update_room(self.room_id, lambda s: (s.drop(self.pid, gen), s))
        self.finished = True
        self.outlet.close(CloseCode.NORMAL, "leave")
        if gone is not None:
            await self.hub.after_departure(state, gone)

    async def _disconnected(self) -> None:
        deadline = self.hub.clock.now().timestamp() + self.hub.config.resume_window
        token = self.token
        pid = self.pid
        member, state = await self.bus.update_room(
            self.room_id, lambda s: (s.disconnect(pid, token, deadline), s)
        )
        if member is None:
            return
        if member.status is Status.ADMITTED:
            await self.hub.send_presence(state, member, "reconnecting")
        self.hub.spawn(self.hub.expire_later(self.room_id, pid, token))
