"""A bus in Redis, so several server processes serve the same rooms (see docs/signaling.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from signaling.bus import FrameSink, PendingFrame, RelayOutcome, SessionRecord, T
from signaling.room import Participant, RoomState, Status

log = logging.getLogger(__name__)

# How long the pub/sub reader waits before it reconnects after losing Redis (seconds): short,
# because deliveries to this process's participants stop meanwhile; doubled up to the cap.
READER_RETRY_FIRST = 0.05
READER_RETRY_CAP = 2.0

# Keep the buffer KEYS[2] within ARGV[n] bytes of bodies (field 'qb' of KEYS[1] holds the sum):
# the oldest frames go first. Shared by the two scripts that append.
_TRIM = """
local function push(p, q, item, size, limit, ttl)
  redis.call('RPUSH', q, item)
  local used = redis.call('HINCRBY', p, 'qb', size)
  while used > limit do
    local head = redis.call('LPOP', q)
    if not head then
      used = 0
      redis.call('HSET', p, 'qb', 0)
      break
    end
    local body_at = string.match(head, '^%d+ %d+ ()')
    used = redis.call('HINCRBY', p, 'qb', -(#head - body_at + 1))
  end
  redis.call('EXPIRE', q, ttl)
end
"""

# Append a frame to a present participant's buffer and publish it to its owner.
_DELIVER = (
    _TRIM
    + """
local tok = redis.call('HGET', KEYS[1], 'tok')
if not tok then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
push(KEYS[1], KEYS[2], seq .. ' ' .. ARGV[2] .. ' ' .. ARGV[3], #ARGV[3], tonumber(ARGV[4]), ARGV[5])
redis.call('PUBLISH', ARGV[1], tok .. ' ' .. seq .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
return seq
"""
)

# Relay between admitted participants, once per sender seq.
_RELAY = (
    _TRIM
    + """
if redis.call('HGET', KEYS[1], 'adm') ~= '1' then return -1 end
local done = tonumber(redis.call('HGET', KEYS[1], 'in') or '0')
if tonumber(ARGV[1]) <= done then return -2 end
redis.call('HSET', KEYS[1], 'in', ARGV[1])
if redis.call('HGET', KEYS[2], 'adm') ~= '1' then return -3 end
local tok = redis.call('HGET', KEYS[2], 'tok')
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
push(KEYS[2], KEYS[3], seq .. ' 0 ' .. ARGV[3], #ARGV[3], tonumber(ARGV[4]), ARGV[5])
redis.call('PUBLISH', ARGV[2], tok .. ' ' .. seq .. ' 0 ' .. ARGV[3])
return seq
"""
)

_MARK = """
if not redis.call('HGET', KEYS[1], 'tok') then return 1 end
local done = tonumber(redis.call('HGET', KEYS[1], 'in') or '0')
if tonumber(ARGV[1]) <= done then return 0 end
redis.call('HSET', KEYS[1], 'in', ARGV[1])
return 1
"""

_ACK = """
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  if tonumber(string.match(head, '^(%d+)')) > tonumber(ARGV[1]) then break end
  redis.call('LPOP', KEYS[1])
  local body_at = string.match(head, '^%d+ %d+ ()')
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('HINCRBY', KEYS[2], 'qb', -(#head - body_at + 1))
  end
end
return 0
"""

_OUTCOMES = {
    -1: RelayOutcome.SENDER_NOT_ADMITTED,
    -2: RelayOutcome.DUPLICATE,
    -3: RelayOutcome.UNKNOWN_RECIPIENT,
}


class _RedisSubscription:
    def __init__(self, bus: RedisBus, channel: str, sink: FrameSink) -> None:
        self._bus = bus
        self._channel = channel
        self._sink = sink

    async def close(self) -> None:
        await self._bus._unsubscribe(self._channel, self._sink)


class RedisBus:
    """Room state, resume buffers and deliveries in Redis; one pub/sub connection per process."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "sig:",
        buffer_bytes: int = 640 * 1024,
        state_ttl: int = 12 * 3600,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._buffer_bytes = buffer_bytes
        self._ttl = state_ttl
        self._deliver = redis.register_script(_DELIVER)
        self._relay = redis.register_script(_RELAY)
        self._mark = redis.register_script(_MARK)
        self._ack = redis.register_script(_ACK)
        self._pubsub = redis.pubsub()
        self._sinks: dict[str, list[FrameSink]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        self._started = asyncio.Lock()
        self._closed = False

    # --- keys ----------------------------------------------------------------------------
    def _room_key(self, room_id: str) -> str:
        return f"{self._prefix}room:{room_id}"

    def _p(self, room_id: str, pid: str) -> str:
        return f"{self._prefix}p:{room_id}:{pid}"

    def _q(self, room_id: str, pid: str) -> str:
        return f"{self._prefix}q:{room_id}:{pid}"

    def _channel(self, room_id: str, pid: str) -> str:
        return f"{self._prefix}c:{room_id}:{pid}"

    # --- rooms ---------------------------------------------------------------------------
    async def update_room(self, room_id: str, mutate: Callable[[RoomState], T]) -> T:
        """Optimistic transaction on the room document; routing hashes follow in the same EXEC."""
        key = self._room_key(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    before = RoomState.from_json(raw) if raw else RoomState(room_id)
                    work = RoomState.from_json(raw) if raw else RoomState(room_id)
                    result = mutate(work)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, work.to_json(), ex=self._ttl)
                    self._queue_routes(pipe, before, work)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue

    def _queue_routes(self, pipe: Any, before: RoomState, after: RoomState) -> None:
        room_id = after.room_id
        for member in after.participants.values():
            p = self._p(room_id, member.pid)
            old: Participant | None = before.participants.get(member.pid)
            fields: dict[str, str | int] = {
                "tok": member.token,
                "adm": 1 if member.status is Status.ADMITTED else 0,
            }
            if old is None or old.gen != member.gen:
                fields.update(seq=0, qb=0, **{"in": 0})
                pipe.delete(self._q(room_id, member.pid))
            pipe.hset(p, mapping=fields)
            pipe.expire(p, self._ttl)
        for pid in before.participants.keys() - after.participants.keys():
            pipe.delete(self._p(room_id, pid), self._q(room_id, pid))

    async def load_room(self, room_id: str) -> RoomState:
        """A snapshot of the room."""
        raw = await self._redis.get(self._room_key(room_id))
        return RoomState.from_json(raw) if raw else RoomState(room_id)

    async def save_session(self, resume_id: str, record: SessionRecord, ttl: float) -> None:
        """Remember a resume id until it cannot be used any more."""
        await self._redis.set(f"{self._prefix}s:{resume_id}", record.to_json(), ex=int(ttl) + 1)

    async def load_session(self, resume_id: str) -> SessionRecord | None:
        """Look a resume id up."""
        raw = await self._redis.get(f"{self._prefix}s:{resume_id}")
        return SessionRecord.from_json(raw) if raw else None

    # --- delivery ------------------------------------------------------------------------
    async def deliver(
        self, room_id: str, recipients: Sequence[str], body: str, close: int = 0
    ) -> None:
        """One script call per recipient, pipelined."""
        if not recipients:
            return
        # int(): redis-py encodes integers with repr(), which for a CloseCode is '<CloseCode...>'.
        close_code = int(close)
        async with self._redis.pipeline(transaction=False) as pipe:
            for pid in recipients:
                await self._deliver(
                    keys=[self._p(room_id, pid), self._q(room_id, pid)],
                    args=[
                        self._channel(room_id, pid),
                        close_code,
                        body,
                        self._buffer_bytes,
                        self._ttl,
                    ],
                    client=pipe,
                )
            await pipe.execute()

    async def relay(
        self, room_id: str, sender: str, sender_seq: int, to: str, body: str
    ) -> RelayOutcome:
        """One script call: checks, numbering, buffering and publishing."""
        result = await self._relay(
            keys=[self._p(room_id, sender), self._p(room_id, to), self._q(room_id, to)],
            args=[sender_seq, self._channel(room_id, to), body, self._buffer_bytes, self._ttl],
        )
        return _OUTCOMES.get(int(result), RelayOutcome.DELIVERED)

    async def mark_processed(self, room_id: str, pid: str, seq: int) -> bool:
        """Record a processed client frame."""
        return bool(await self._mark(keys=[self._p(room_id, pid)], args=[seq]))

    async def processed(self, room_id: str, pid: str) -> int:
        """Highest processed client seq."""
        raw = await self._redis.hget(self._p(room_id, pid), "in")
        return int(raw) if raw else 0

    async def pending(self, room_id: str, pid: str, after: int) -> list[PendingFrame] | None:
        """Unacknowledged frames after `after`, or None when there is a gap."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(self._p(room_id, pid), "seq")
            pipe.lrange(self._q(room_id, pid), 0, -1)
            head, items = await pipe.execute()
        if head is None or after > int(head):
            return None
        frames: list[PendingFrame] = []
        for item in items:
            seq, close, body = item.split(" ", 2)
            if int(seq) > after:
                frames.append((int(seq), int(close), body))
        if int(head) > after and (not frames or frames[0][0] != after + 1):
            return None
        return frames

    async def ack(self, room_id: str, pid: str, seq: int) -> None:
        """Drop acknowledged frames."""
        await self._ack(keys=[self._q(room_id, pid), self._p(room_id, pid)], args=[seq])

    async def announce_owner(self, room_id: str, pid: str, token: str) -> None:
        """Publish a control message naming the owner."""
        await self._redis.publish(self._channel(room_id, pid), f"{token} 0 0 ")

    # --- pub/sub -------------------------------------------------------------------------
    async def _ensure_reader(self) -> None:
        async with self._started:
            if self._reader is None:
                # A private channel keeps the pub/sub connection subscribed, so the reader
                # can block instead of polling while no participant is connected here.
                idle = f"{self._prefix}idle:{secrets.token_hex(8)}"
                await self._pubsub.subscribe(idle)
                self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        # Redis may drop the pub/sub connection (a restart, its output-buffer limit for a slow
        # subscriber, a network blip). The reader must outlive that: were it to end, every
        # participant of this process would silently stop receiving. redis-py subscribes the
        # connection's channels again when it reconnects.
        wait = READER_RETRY_FIRST
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("signaling pub/sub connection lost (%s); reconnecting", exc)
                await asyncio.sleep(wait)
                wait = min(wait * 2, READER_RETRY_CAP)
                continue
            wait = READER_RETRY_FIRST
            if message is None:
                continue
            channel = message["channel"]
            if message["type"] == "subscribe":
                event = self._confirmed.get(channel)
                if event is not None:
                    event.set()
                continue
            if message["type"] == "message":
                self._hand_over(channel, message["data"])

    def _hand_over(self, channel: str, data: str) -> None:
        # A function of its own, not inline in `_read`: the loop's last `sink` would stay in
        # the reader's frame while it waits, holding a closed connection until the next message.
        token, seq, close, body = data.split(" ", 3)
        for sink in tuple(self._sinks.get(channel, ())):
            sink(token, int(seq), int(close), body)

    async def subscribe(self, room_id: str, pid: str, sink: FrameSink) -> _RedisSubscription:
        """Receive a participant's frames; returns once Redis confirmed the subscription."""
        await self._ensure_reader()
        channel = self._channel(room_id, pid)
        sinks = self._sinks.setdefault(channel, [])
        sinks.append(sink)
        if len(sinks) == 1:
            event = asyncio.Event()
            self._confirmed[channel] = event
            await self._pubsub.subscribe(channel)
            await event.wait()
        return _RedisSubscription(self, channel, sink)

    async def _unsubscribe(self, channel: str, sink: FrameSink) -> None:
        sinks = self._sinks.get(channel)
        if self._closed or sinks is None or sink not in sinks:
            return
        sinks.remove(sink)
        if not sinks:
            del self._sinks[channel]
            self._confirmed.pop(channel, None)
            await self._pubsub.unsubscribe(channel)

    async def close(self) -> None:
        """Stop the reader and the pub/sub connection (the Redis client belongs to the caller)."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # untyped before redis 8

    @property
    def prefix(self) -> str:
        """The key prefix, which a `RedisPresence` beside this bus shares."""
        return self._prefix
