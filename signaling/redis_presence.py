"""Presence in Redis: instances heartbeat, survivors take over the participants of the dead.

Keys, all under the bus prefix (see docs/signaling.md, *Several server instances*):

* `instances`: a set of the ids of instances that have run;
* `alive:<instance>`: refreshed every `heartbeat` seconds, expires after `ttl`;
* `hosts:<instance>`: the connections the instance holds (`Hosted` as JSON);
* `reap:<instance>`: the claim of the one survivor that handles a dead instance;
* `windows`: a sorted set of connections whose resume window runs, scored by its end (unix time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from signaling.presence import Hosted, PresenceWatcher

log = logging.getLogger(__name__)

# Take the due windows, at most ARGV[3], and push each `ARGV[2]` seconds later: the instance that
# took one removes it once handled, and if it dies first another takes it again then.
_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
end
return due
"""


# The heartbeat: refresh KEYS[1] (this instance's liveness) unless a survivor has begun or
# finished taking this instance over (its claim KEYS[2] is held, or it has struck this instance
# from the set KEYS[3]). A key that lapsed while nobody acted (a pause at start-up, say) is
# simply set again. Atomic with _CLAIM: either this revives first, or the claim wins.
_REFRESH = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then
    return 0
  end
end
redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
return 1
"""

# A survivor's claim on a dead instance: only while its liveness key KEYS[1] is absent.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return 1 end
return 0
"""


class RedisPresence:
    """Heartbeats, reaping of dead instances and resume-window ends, shared through Redis."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "sig:",
        heartbeat: float = 0.5,
        ttl: float = 2.0,
        lease: float = 10.0,
    ) -> None:
        if ttl <= heartbeat:
            raise ValueError("the liveness ttl must be longer than the heartbeat interval")
        self._redis = redis
        self._prefix = prefix
        self._heartbeat = heartbeat
        self._ttl_ms = int(ttl * 1000)
        self._lease = lease
        self._take_due = redis.register_script(_TAKE_DUE)
        self._refresh = redis.register_script(_REFRESH)
        self._claim = redis.register_script(_CLAIM)
        self.instance_id = secrets.token_hex(8)
        self._watcher: PresenceWatcher | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._closing = asyncio.Event()

    # --- keys ----------------------------------------------------------------------------
    @property
    def _instances(self) -> str:
        return f"{self._prefix}instances"

    @property
    def _windows(self) -> str:
        return f"{self._prefix}windows"

    def _alive(self, instance: str) -> str:
        return f"{self._prefix}alive:{instance}"

    def _hosts(self, instance: str) -> str:
        return f"{self._prefix}hosts:{instance}"

    def _reap(self, instance: str) -> str:
        return f"{self._prefix}reap:{instance}"

    # --- lifetime ------------------------------------------------------------------------
    async def start(self, watcher: PresenceWatcher) -> None:
        """Register this instance alive and start heartbeating."""
        self._watcher = watcher
        try:
            await self._register()
        except (RedisError, OSError):
            # Redis not up yet: the first heartbeat registers this instance once it is.
            log.warning("signaling presence: Redis unavailable at start", exc_info=True)
        # Two loops: a long reaping or a burst of window ends must not delay the heartbeat.
        self._loops = [
            asyncio.create_task(self._every_beat(self._beat)),
            asyncio.create_task(self._every_beat(self._watch)),
        ]

    async def _register(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._alive(self.instance_id), "1", px=self._ttl_ms)
            pipe.sadd(self._instances, self.instance_id)
            await pipe.execute()

    async def close(self) -> None:
        """Stop heartbeating and drop the liveness key: survivors take over what is left here
        at their next scan (a socket this instance closed has already scheduled its window)."""
        self._closing.set()
        loops, self._loops = self._loops, []
        for loop in loops:
            loop.cancel()
        if loops:
            # A cancellation that lands inside a Redis call can be absorbed by the client, and
            # the loop would go on beating for ever: the flag ends it at its next beat, and the
            # wait is bounded so that a stopping instance always stops.
            await asyncio.wait(loops, timeout=max(1.0, 4 * self._heartbeat))
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._alive(self.instance_id))

    async def _every_beat(self, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            if self._closing.is_set():
                return
            try:
                await step()
            except (RedisError, OSError):
                # Redis away: try again next beat (sockets fail on their own meanwhile).
                log.warning("signaling presence: Redis unavailable", exc_info=True)
            except Exception:
                # A bug handling one entry must not stop presence for the whole instance.
                log.exception("signaling presence: step failed")

    async def _watch(self) -> None:
        await self._reap_dead()
        await self._end_windows()

    async def _beat(self) -> None:
        me = self.instance_id
        refreshed = await self._refresh(
            keys=[self._alive(me), self._reap(me), self._instances], args=[self._ttl_ms, me]
        )
        if refreshed:
            return
        # Other instances have taken this one's participants over: start again under a new id
        # and send the clients away, to resume where the room state now expects them.
        log.warning("signaling presence: taken for dead, instance %s restarts", self.instance_id)
        self.instance_id = secrets.token_hex(8)
        await self._register()
        if self._watcher is not None:
            self._watcher.presumed_dead()

    async def _reap_dead(self) -> None:
        members = await self._redis.smembers(self._instances)
        ids = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        others = [i for i in ids if i != self.instance_id]
        if not others:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance in others:
                pipe.exists(self._alive(instance))
            alive = await pipe.execute()
        for instance, up in zip(others, alive, strict=True):
            if up:
                continue
            # One survivor per dead instance; if it dies too, the claim lapses and another
            # takes over (handling an entry twice changes nothing the second time).
            claimed = await self._claim(
                keys=[self._alive(instance), self._reap(instance)],
                args=[self.instance_id, int(self._lease * 1000)],
            )
            if not claimed:
                continue
            raw = await self._redis.smembers(self._hosts(instance))
            if raw and self._watcher is not None:
                await self._watcher.lost([Hosted.from_json(item) for item in raw])
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._hosts(instance))
                pipe.srem(self._instances, instance)
                await pipe.execute()

    async def _end_windows(self) -> None:
        due = await self._take_due(keys=[self._windows], args=[time.time(), self._lease, 100])
        for member in due:
            if self._watcher is not None:
                await self._watcher.window_over(Hosted.from_json(member))
            await self._redis.zrem(self._windows, member)

    # --- connections ---------------------------------------------------------------------
    async def hosting(self, entry: Hosted) -> None:
        """Record the connection under this instance."""
        await self._redis.sadd(self._hosts(self.instance_id), entry.to_json())

    async def released(self, entry: Hosted) -> None:
        """Forget the connection."""
        await self._redis.srem(self._hosts(self.instance_id), entry.to_json())

    async def leave_at(self, entry: Hosted, delay: float) -> None:
        """Schedule the window's end in Redis, where any instance finds it (NX keeps the
        first deadline when a survivor schedules a window already running)."""
        await self._redis.zadd(self._windows, {entry.to_json(): time.time() + delay}, nx=True)
