"""One WebSocket connection: handshake, frame dispatch, delivery and resume."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from aiohttp import WSMsgType, web

from signaling.admission import Admission, Role
from signaling.bus import RelayOutcome, SessionRecord, Subscription
from signaling.codes import PROTOCOL_VERSION, CloseCode, ErrorCode
from signaling.hub import Hub
from signaling.outlet import Outlet, utf8_size
from signaling.presence import Hosted
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

logger = logging.getLogger(__name__)
# One line per closed connection: code, reason, room and how long it was open.
close_log = logging.getLogger("signaling.close")

CLOSE_REASONS = {
    CloseCode.DENIED: "denied",
    CloseCode.REMOVED: "removed",
    CloseCode.ENDED: "ended",
    CloseCode.REVOKED: "revoked",
}


# What ends the frame loop; an ERROR is followed by CLOSED, as with `async for` over the socket.
_SOCKET_DONE = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)


def _parse_token(token: str) -> tuple[int, int]:
    gen, _, conn = token.partition(".")
    return int(gen), int(conn)


_FRAME_NAMES: dict[type, str] = {
    Ack: "ack",
    Join: "join",
    Chat: "chat",
    End: "end",
    Leave: "leave",
}


def frame_name(frame: ClientFrame) -> str:
    """The `type` of a parsed client frame, as metrics label it."""
    if isinstance(frame, Relay):
        return frame.kind
    if isinstance(frame, HostAction):
        return frame.action
    return _FRAME_NAMES[type(frame)]


def body_type(body: str) -> str:
    """The `type` of a server frame body built by `encode` (its first key)."""
    # Every server body starts with {"type":"...": reading it costs no parse.
    if body.startswith('{"type":"'):
        end = body.find('"', 9)
        if end > 9:
            return body[9:end]
    return "other"


class Connection:
    """Serves one WebSocket from the handshake to the close."""

    # One per open socket: slots keep idle connections small.
    __slots__ = (
        "attached",
        "bucket",
        "bus",
        "conn",
        "finished",
        "frames_since_ack",
        "gen",
        "hub",
        "in_seq",
        "opened",
        "outlet",
        "pid",
        "replaying",
        "role",
        "room_id",
        "sent_seq",
        "stash",
        "stats",
        "subscription",
        "token",
        "unacked",
        "unacked_bytes",
        "url_room",
        "user_id",
        "violations",
        "ws",
    )

    def __init__(
        self, hub: Hub, ws: web.WebSocketResponse, outlet: Outlet, url_room: str | None
    ) -> None:
        self.hub = hub
        self.bus = hub.bus
        self.stats = hub.stats
        self.opened = time.monotonic()
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
        # (seq, bytes) of stream frames sent on this socket that the client has not acked.
        # A list, not a deque: an empty deque costs about 600 bytes per connection, and an
        # ack trims the list with one slice.
        self.unacked: list[tuple[int, int]] = []
        self.unacked_bytes = 0

    # --- lifetime ------------------------------------------------------------------------
    async def serve(self) -> None:
        """Run until the socket closes."""
        self.hub.outlets.add(self.outlet)
        self.stats.connections += 1
        try:
            if await self._handshake():
                # The frame loop is here, not in a method of its own: a coroutine frame
                # less for every open socket.
                # No bound methods cached in locals: 64 bytes each for the socket's life.
                ws = self.ws
                outlet = self.outlet
                while True:
                    msg = await ws.receive()
                    # A close requested while this frame waited (by the previous frame, or
                    # by a delivery): nothing after it is handled. (Once the socket is
                    # closed, receive() returns CLOSED at once, so coming back is safe.)
                    if outlet.closing:
                        break
                    kind = msg.type
                    if kind is WSMsgType.TEXT:
                        await self.on_text(msg.data)
                        # Not kept while the next frame is awaited: an idle socket would hold
                        # its last frame for good.
                        del msg
                    elif kind is WSMsgType.BINARY:
                        self.stats.count(self.stats.frames_in, "binary")
                        self._error(ErrorCode.BAD_JSON, "binary frames are not accepted", None)
                    elif kind in _SOCKET_DONE:
                        break
        finally:
            try:
                self.hub.outlets.discard(self.outlet)
                if self.subscription is not None:
                    await self.subscription.close()
                    # It holds `_on_frame`, bound to this connection: a cycle that would keep
                    # the socket's objects until a full collection.
                    self.subscription = None
                if self.attached:
                    await self.hub.presence.released(self._hosted())
                if self.attached and not self.finished:
                    await self._disconnected()
                self.outlet.close(CloseCode.NORMAL, "")
                # Bounded: a peer that stops reading must not hold this handler forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.hub.limits.handshake_timeout):
                        await self.outlet.wait_closed()
            finally:
                # Also when aiohttp cancels the handler of a socket that has gone.
                self._closed()

    def _closed(self) -> None:
        stats = self.stats
        stats.connections -= 1
        stats.unacked_bytes -= self.unacked_bytes
        self.unacked_bytes = 0
        if self.attached:
            stats.left(self.room_id)
        code, reason = self.outlet.close_request or (CloseCode.NORMAL, "")
        if not reason:
            # The client went first, or vanished: its code (1006 when no close frame came).
            code, reason = self.ws.close_code or 1006, "client"
        stats.closes[code] = stats.closes.get(code, 0) + 1
        duration = time.monotonic() - self.opened
        close_log.info(
            "signaling close %s %s",
            code,
            reason,
            extra={
                "close_code": code,
                "close_reason": reason,
                "room": self.room_id or self.url_room or "",
                "participant": self.pid,
                "duration_s": round(duration, 3),
            },
        )

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
        self.stats.count(self.stats.errors, code.value)
        self._send("error", error_frame(code, message, ref))

    def _send(self, kind: str, frame: str) -> None:
        """An out-of-stream frame (welcome, resumed, ack, error)."""
        self.stats.count(self.stats.frames_out, kind)
        self.outlet.send(frame)

    def _attach(self, room_id: str, member: Participant) -> None:
        self.room_id = room_id
        self.pid = member.pid
        self.user_id = member.user_id
        self.role = member.role
        self.gen = member.gen
        self.conn = member.conn
        self.token = member.token
        self.attached = True
        self.stats.entered(room_id)

    def _hosted(self) -> Hosted:
        """This connection, as the presence records it."""
        return Hosted(self.room_id, self.pid, self.token)

    # --- handshake -----------------------------------------------------------------------
    async def _hello(self, hello: Hello) -> bool:
        hub = self.hub
        # The room in the URL goes to the authorizer, so a ticket for another room is refused
        # without being used up.
        admission = await hub.config.authorizer.authorize(hello.ticket, self.url_room)
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
        await self.hub.presence.hosting(self._hosted())
        self.subscription = await self.bus.subscribe(self.room_id, self.pid, self._on_frame)
        if connected.replaced:
            await self.bus.announce_owner(self.room_id, self.pid, self.token)
        self._send("welcome", encode(self._welcome(admission, member, resume_id)))
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
            "limits": self._limits_json(),
        }

    def _limits_json(self) -> dict[str, object]:
        limits = self.hub.limits
        return {
            "max_frame_bytes": limits.max_message_bytes,
            "unacked_bytes": limits.send_queue_bytes,
            "resume_buffer_bytes": limits.resume_buffer_bytes,
            "rate_per_second": limits.rate_per_second,
            "rate_burst": limits.rate_burst,
            "max_participants": limits.max_participants,
        }

    async def _resume(self, resume: Resume) -> bool:
        resumed = await self._take_back(resume)
        if not resumed:
            self.stats.count(self.stats.resumes, "failed")
        return resumed

    async def _take_back(self, resume: Resume) -> bool:
        record = await self.bus.load_session(resume.resume_id)
        if record is None or (self.url_room is not None and record.room_id != self.url_room):
            self.outlet.close(CloseCode.RESUME_FAILED, "resume_failed")
            return False
        guard = self.hub.config.resume_guard
        if guard is not None and not await guard.may_resume(record.room_id, record.user_id):
            # The application no longer lets this user in (deactivated, for instance): checked
            # on every resume, so a lost revocation cannot let them back.
            self.outlet.close(CloseCode.REVOKED, "revoked")
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
        await self.hub.presence.hosting(self._hosted())
        # Subscribe before reading the buffer so nothing falls between the two.
        self.replaying = True
        self.subscription = await self.bus.subscribe(self.room_id, self.pid, self._on_frame)
        await self.bus.announce_owner(self.room_id, self.pid, self.token)
        frames = await self.bus.pending(self.room_id, self.pid, resume.last_seq)
        if frames is None:
            self.outlet.close(CloseCode.RESUME_FAILED, "resume_failed")
            return False
        self.in_seq = await self.bus.processed(self.room_id, self.pid)
        self.stats.count(self.stats.resumes, "resumed")
        self._send(
            "resumed",
            encode(
                {
                    "type": "resumed",
                    "participant": self.pid,
                    "ack": self.in_seq,
                    "resume_window": self.hub.config.resume_window,
                    "limits": self._limits_json(),
                }
            ),
        )
        self.sent_seq = resume.last_seq
        # The replay is what the resume buffer held: it is sent whole, however large.
        for seq, close, body in frames:
            self._emit(seq, close, body, replay=True)
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

    def _emit(self, seq: int, close: int, body: str, replay: bool = False) -> None:
        if seq <= self.sent_seq or self.outlet.closing:
            return
        frame = with_seq(seq, body)
        size = utf8_size(frame)
        limit = self.hub.limits.send_queue_bytes
        if not replay and self.unacked_bytes and self.unacked_bytes + size > limit:
            # The client is not acknowledging fast enough. This frame and every frame it has
            # not acked are in its resume buffer: it resumes with 4006 never in the way.
            self.outlet.close(CloseCode.SLOW_CONSUMER, "slow_consumer")
            return
        self.sent_seq = seq
        self.unacked.append((seq, size))
        self.unacked_bytes += size
        self.stats.unacked_bytes += size
        self.stats.count(self.stats.frames_out, body_type(body))
        self.outlet.send(frame)
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
            frame = parse_frame(raw)
        except ProtocolError as exc:
            self.stats.count(self.stats.frames_in, "invalid")
            self._error(exc.code, exc.message, exc.ref)
            return None
        self.stats.count(self.stats.frames_in, frame_name(frame))
        return frame

    def _acked(self, ack: int) -> None:
        unacked = self.unacked
        freed = 0
        done = 0
        for seq, size in unacked:
            if seq > ack:
                break
            freed += size
            done += 1
        del unacked[:done]
        self.unacked_bytes -= freed
        self.stats.unacked_bytes -= freed

    async def on_text(self, raw: str) -> None:
        """Handle one text frame after the handshake."""
        frame = self._accept(raw)
        if frame is None:
            return
        if isinstance(frame, Ack):
            if frame.ack <= self.sent_seq:
                self._acked(frame.ack)
                await self.bus.ack(self.room_id, self.pid, frame.ack)
            return
        if frame.seq <= self.in_seq:
            return  # a resend of a frame processed before a resume
        if frame.seq != self.in_seq + 1:
            # Not processed, and the seq is not used up: the client resends from in_seq + 1.
            expected = self.in_seq + 1
            self.stats.count(self.stats.errors, ErrorCode.SEQ_GAP.value)
            self._send(
                "error",
                error_frame(ErrorCode.SEQ_GAP, f"expected seq {expected}", frame.seq, expected),
            )
            return
        if type(frame) is Relay:
            if frame.to == self.pid:
                # A relay to oneself would only fill one's own buffers (and memory).
                first = await self.bus.mark_processed(self.room_id, self.pid, frame.seq)
                self.in_seq = frame.seq
                if first:
                    self._error(ErrorCode.SELF_RELAY, "cannot relay to yourself", frame.seq)
                self._processed_one()
                return
            outcome = await self.bus.relay(
                self.room_id, self.pid, frame.seq, frame.to, relay_body(frame, self.pid)
            )
            self._relayed(outcome, frame.seq)
            return
        first = await self.bus.mark_processed(self.room_id, self.pid, frame.seq)
        self.in_seq = frame.seq
        if first:
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
            self._send("ack", ack_frame(self.in_seq))

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
        window = self.hub.config.resume_window
        deadline = self.hub.clock.now().timestamp() + window
        token = self.token
        pid = self.pid
        # Scheduled before the room changes: the window ends (and `left` goes out) even if
        # this instance dies right after. A window for a connection that was not current ends
        # as a no-op.
        await self.hub.presence.leave_at(self._hosted(), window)
        member, state = await self.bus.update_room(
            self.room_id, lambda s: (s.disconnect(pid, token, deadline), s)
        )
        if member is None:
            return
        if member.status is Status.ADMITTED:
            await self.hub.send_presence(state, member, "reconnecting")
