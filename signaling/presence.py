"""Who hosts which participant, and when a resume window ends, beyond one process's lifetime.

A `Presence` keeps two promises for the hub: the end of a resume window fires even when the
instance that scheduled it is gone, and the participants of an instance that stops without
closing its sockets (killed, frozen, cut off) are found and marked `reconnecting` by a survivor.
`LocalPresence` is for one process (timers in memory); `RedisPresence` (signaling.redis_presence)
for several.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Hosted:
    """One connection of a participant: room, participant id and session token."""

    room_id: str
    pid: str
    token: str

    def to_json(self) -> str:
        """Serialize for Redis (room ids are arbitrary strings, so no separator would do)."""
        return json.dumps([self.room_id, self.pid, self.token], separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Hosted:
        """Deserialize what to_json wrote."""
        room_id, pid, token = json.loads(raw)
        return cls(str(room_id), str(pid), str(token))


class PresenceWatcher(Protocol):
    """What a presence tells the hub."""

    async def lost(self, entries: list[Hosted]) -> None:
        """These connections were on an instance that stopped heartbeating."""
        ...

    async def window_over(self, entry: Hosted) -> None:
        """The resume window of this connection has passed."""
        ...

    def presumed_dead(self) -> None:
        """Other instances took this one for dead (it missed its heartbeats)."""
        ...


class Presence(Protocol):
    """Liveness of this instance and the schedule of resume-window ends."""

    async def start(self, watcher: PresenceWatcher) -> None:
        """Begin reporting to `watcher`."""
        ...

    async def hosting(self, entry: Hosted) -> None:
        """This instance now holds the connection `entry`."""
        ...

    async def released(self, entry: Hosted) -> None:
        """This instance no longer holds the connection `entry`."""
        ...

    async def leave_at(self, entry: Hosted, delay: float) -> None:
        """Call `window_over(entry)` in `delay` seconds (a schedule already set is kept)."""
        ...

    async def close(self) -> None:
        """Stop reporting."""
        ...


class LocalPresence:
    """One process: nobody else could take over, so a timer per window is all there is."""

    def __init__(self) -> None:
        self._watcher: PresenceWatcher | None = None
        self._timers: set[asyncio.Task[None]] = set()

    async def start(self, watcher: PresenceWatcher) -> None:
        """Remember whom to tell."""
        self._watcher = watcher

    async def hosting(self, entry: Hosted) -> None:
        """Nothing to record: this process is the only one."""

    async def released(self, entry: Hosted) -> None:
        """Nothing to record: this process is the only one."""

    async def leave_at(self, entry: Hosted, delay: float) -> None:
        """A timer in this process."""
        task = asyncio.create_task(self._fire(entry, delay))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _fire(self, entry: Hosted, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._watcher is not None:
            await self._watcher.window_over(entry)

    async def close(self) -> None:
        """Cancel the timers."""
        timers = list(self._timers)
        for task in timers:
            task.cancel()
        for task in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
