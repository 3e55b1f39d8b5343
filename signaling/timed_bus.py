"""A bus that records how long each call to the real one takes (the bus latency metric)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from signaling.bus import Bus, FrameSink, PendingFrame, RelayOutcome, SessionRecord, Subscription, T
from signaling.room import RoomState
from signaling.stats import Stats


class TimedBus:
    """Delegates every call to `inner`, timing it into `stats.bus` by operation."""

    def __init__(self, inner: Bus, stats: Stats) -> None:
        self.inner = inner
        self._timed = stats.timed

    async def update_room(self, room_id: str, mutate: Callable[[RoomState], T]) -> T:
        """Timed `Bus.update_room`."""
        return await self._timed("update_room", lambda: self.inner.update_room(room_id, mutate))

    async def load_room(self, room_id: str) -> RoomState:
        """Timed `Bus.load_room`."""
        return await self._timed("load_room", lambda: self.inner.load_room(room_id))

    async def save_session(self, resume_id: str, record: SessionRecord, ttl: float) -> None:
        """Timed `Bus.save_session`."""
        await self._timed("save_session", lambda: self.inner.save_session(resume_id, record, ttl))

    async def load_session(self, resume_id: str) -> SessionRecord | None:
        """Timed `Bus.load_session`."""
        return await self._timed("load_session", lambda: self.inner.load_session(resume_id))

    async def deliver(
        self, room_id: str, recipients: Sequence[str], body: str, close: int = 0
    ) -> None:
        """Timed `Bus.deliver`."""
        await self._timed("deliver", lambda: self.inner.deliver(room_id, recipients, body, close))

    async def relay(
        self, room_id: str, sender: str, sender_seq: int, to: str, body: str
    ) -> RelayOutcome:
        """Timed `Bus.relay`."""
        return await self._timed(
            "relay", lambda: self.inner.relay(room_id, sender, sender_seq, to, body)
        )

    async def mark_processed(self, room_id: str, pid: str, seq: int) -> bool:
        """Timed `Bus.mark_processed`."""
        return await self._timed(
            "mark_processed", lambda: self.inner.mark_processed(room_id, pid, seq)
        )

    async def processed(self, room_id: str, pid: str) -> int:
        """Timed `Bus.processed`."""
        return await self._timed("processed", lambda: self.inner.processed(room_id, pid))

    async def subscribe(self, room_id: str, pid: str, sink: FrameSink) -> Subscription:
        """Timed `Bus.subscribe`."""
        return await self._timed("subscribe", lambda: self.inner.subscribe(room_id, pid, sink))

    async def pending(self, room_id: str, pid: str, after: int) -> list[PendingFrame] | None:
        """Timed `Bus.pending`."""
        return await self._timed("pending", lambda: self.inner.pending(room_id, pid, after))

    async def ack(self, room_id: str, pid: str, seq: int) -> None:
        """Timed `Bus.ack`."""
        await self._timed("ack", lambda: self.inner.ack(room_id, pid, seq))

    async def announce_owner(self, room_id: str, pid: str, token: str) -> None:
        """Timed `Bus.announce_owner`."""
        await self._timed("announce_owner", lambda: self.inner.announce_owner(room_id, pid, token))

    async def close(self) -> None:
        """Close the real bus."""
        await self.inner.close()
