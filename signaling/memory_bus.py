"""The default bus: everything in this process."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from signaling.bus import FrameSink, PendingFrame, RelayOutcome, SessionRecord, T
from signaling.clock import Clock, SystemClock
from signaling.outlet import utf8_size
from signaling.room import RoomState, Status


@dataclass(slots=True)
class _Route:
    token: str
    gen: int
    admitted: bool
    seq: int = 0
    processed: int = 0
    # A list, not a deque: an empty deque costs about 600 bytes per participant, and the
    # buffer is short while the client acks, and an ack trims it with one slice.
    frames: list[PendingFrame] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # UTF-8 bytes of each buffered body
    buffered: int = 0  # their sum
    sinks: list[FrameSink] = field(default_factory=list)


def _seq_of(frame: PendingFrame) -> int:
    return frame[0]


class _MemorySubscription:
    __slots__ = ("_route", "_sink")

    def __init__(self, route: _Route, sink: FrameSink) -> None:
        self._route = route
        self._sink = sink

    async def close(self) -> None:
        if self._sink in self._route.sinks:
            self._route.sinks.remove(self._sink)


# How often expired resume ids and forgotten rooms are swept out (seconds).
SWEEP_EVERY = 60.0


class InProcessBus:
    """Rooms, resume buffers and deliveries in dictionaries; for a single server process.

    What Redis expires by itself expires here too, so a long-running server does not grow with
    every visit it ever saw: a resume id goes when its window ends, and a room (with its
    participants' buffers) `state_ttl` seconds after its last change, as `RedisBus` keys do.
    """

    def __init__(
        self,
        buffer_bytes: int = 640 * 1024,
        *,
        clock: Clock | None = None,
        state_ttl: float = 12 * 3600,
    ) -> None:
        self._buffer_bytes = buffer_bytes
        self._clock = clock or SystemClock()
        self._state_ttl = state_ttl
        self._next_sweep = 0.0
        self._rooms: dict[str, RoomState] = {}
        self._room_touched: dict[str, float] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        # Participant ids with a route, per room: syncing one room must not scan every route.
        # Tuples: a room has a handful, and a set of one costs 216 bytes.
        self._room_pids: dict[str, tuple[str, ...]] = {}
        # resume id -> (unix time it expires, record)
        self._sessions: dict[str, tuple[float, SessionRecord]] = {}

    def held(self) -> dict[str, int]:
        """How many rooms, participant routes and resume ids this bus holds now."""
        return {
            "rooms": len(self._rooms),
            "routes": len(self._routes),
            "sessions": len(self._sessions),
        }

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _sweep(self, now: float) -> None:
        """Forget what has expired; at most once a `SWEEP_EVERY`, so it costs nothing per call."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        expired = [rid for rid, (until, _) in self._sessions.items() if until <= now]
        for resume_id in expired:
            del self._sessions[resume_id]
        stale = now - self._state_ttl
        for room_id in [r for r, at in self._room_touched.items() if at <= stale]:
            del self._room_touched[room_id]
            self._rooms.pop(room_id, None)
            for pid in self._room_pids.pop(room_id, ()):
                route = self._routes.pop((room_id, pid), None)
                if route is not None:
                    route.admitted = False

    async def update_room(self, room_id: str, mutate: Callable[[RoomState], T]) -> T:
        """Apply `mutate` to a copy and swap it in; no await, so it is atomic."""
        current = self._rooms.get(room_id)
        work = current.copy() if current else RoomState(room_id)
        result = mutate(work)
        self._rooms[room_id] = work
        self._sync_routes(work)
        now = self._now()
        self._room_touched[room_id] = now
        self._sweep(now)
        return result

    def _sync_routes(self, state: RoomState) -> None:
        room_id = state.room_id
        present = state.participants.keys()
        for member in state.participants.values():
            key = (room_id, member.pid)
            route = self._routes.get(key)
            admitted = member.status is Status.ADMITTED
            if route is None:
                self._routes[key] = _Route(member.token, member.gen, admitted)
                continue
            if route.gen != member.gen:
                route.seq = 0
                route.processed = 0
                route.frames.clear()
                route.sizes.clear()
                route.buffered = 0
                route.gen = member.gen
            route.token = member.token
            route.admitted = admitted
        for pid in self._room_pids.get(room_id, ()):
            if pid in present:
                continue
            route = self._routes.pop((room_id, pid))
            # Holders of a dropped participant keep their sinks until they close.
            route.admitted = False
        if present:
            self._room_pids[room_id] = tuple(present)
        else:
            self._room_pids.pop(room_id, None)

    async def load_room(self, room_id: str) -> RoomState:
        """A copy of the room."""
        current = self._rooms.get(room_id)
        return current.copy() if current else RoomState(room_id)

    async def save_session(self, resume_id: str, record: SessionRecord, ttl: float) -> None:
        """Remember a resume id for `ttl` seconds."""
        now = self._now()
        self._sessions[resume_id] = (now + ttl, record)
        self._sweep(now)

    async def load_session(self, resume_id: str) -> SessionRecord | None:
        """Look a resume id up; None once it has expired."""
        held = self._sessions.get(resume_id)
        if held is None:
            return None
        until, record = held
        if until <= self._now():
            del self._sessions[resume_id]
            return None
        return record

    def _push(self, route: _Route, body: str, close: int) -> None:
        route.seq += 1
        seq = route.seq
        frames = route.frames
        sizes = route.sizes
        size = utf8_size(body)
        frames.append((seq, close, body))
        sizes.append(size)
        route.buffered += size
        if route.buffered > self._buffer_bytes:
            drop = 0
            while route.buffered > self._buffer_bytes:
                route.buffered -= sizes[drop]
                drop += 1
            del frames[:drop], sizes[:drop]
        token = route.token
        for sink in tuple(route.sinks):
            sink(token, seq, close, body)

    async def deliver(
        self, room_id: str, recipients: Sequence[str], body: str, close: int = 0
    ) -> None:
        """Sequence and hand over a frame to each present recipient."""
        for pid in recipients:
            route = self._routes.get((room_id, pid))
            if route is not None:
                self._push(route, body, close)

    async def relay(
        self, room_id: str, sender: str, sender_seq: int, to: str, body: str
    ) -> RelayOutcome:
        """Deliver between admitted participants of one room, once per sender seq."""
        source = self._routes.get((room_id, sender))
        if source is None or not source.admitted:
            return RelayOutcome.SENDER_NOT_ADMITTED
        if sender_seq <= source.processed:
            return RelayOutcome.DUPLICATE
        target = self._routes.get((room_id, to))
        if target is None or not target.admitted:
            source.processed = sender_seq
            return RelayOutcome.UNKNOWN_RECIPIENT
        source.processed = sender_seq
        self._push(target, body, 0)
        return RelayOutcome.DELIVERED

    async def mark_processed(self, room_id: str, pid: str, seq: int) -> bool:
        """Record a processed client frame."""
        route = self._routes.get((room_id, pid))
        if route is None:
            return True
        if seq <= route.processed:
            return False
        route.processed = seq
        return True

    async def processed(self, room_id: str, pid: str) -> int:
        """Highest processed client seq."""
        route = self._routes.get((room_id, pid))
        return route.processed if route else 0

    async def subscribe(self, room_id: str, pid: str, sink: FrameSink) -> _MemorySubscription:
        """Receive a participant's frames."""
        route = self._routes.get((room_id, pid))
        if route is None:
            # The participant is gone already: a subscription that never fires.
            route = _Route("", 0, admitted=False)
        route.sinks.append(sink)
        return _MemorySubscription(route, sink)

    async def pending(self, room_id: str, pid: str, after: int) -> list[PendingFrame] | None:
        """Unacknowledged frames after `after`, or None when there is a gap."""
        route = self._routes.get((room_id, pid))
        if route is None or after > route.seq:
            return None
        frames = [f for f in route.frames if f[0] > after]
        expected = after + 1
        if route.seq > after and (not frames or frames[0][0] != expected):
            return None
        return frames

    async def ack(self, room_id: str, pid: str, seq: int) -> None:
        """Drop acknowledged frames."""
        route = self._routes.get((room_id, pid))
        if route is None:
            return
        frames = route.frames
        done = bisect_right(frames, seq, key=_seq_of)
        if done:
            route.buffered -= sum(route.sizes[:done])
            del frames[:done], route.sizes[:done]

    async def announce_owner(self, room_id: str, pid: str, token: str) -> None:
        """Tell all holders who owns the participant now."""
        route = self._routes.get((room_id, pid))
        if route is not None:
            for sink in tuple(route.sinks):
                sink(token, 0, 0, "")

    async def close(self) -> None:
        """Nothing to release."""
