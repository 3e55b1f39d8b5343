"""Counters of one signaling hub, kept as plain numbers so the library needs no metrics package.

The application reads them when it is scraped (telehealth turns them into Prometheus metrics);
updating one is a dictionary increment on the path of every frame.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

R = TypeVar("R")

# Upper bounds in seconds of the bus latency histogram (the last bucket is +Inf).
BUS_BUCKETS: tuple[float, ...] = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)


@dataclass(slots=True)
class LatencyHistogram:
    """Cumulative-on-read histogram of one bus operation."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUS_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """Count one call."""
        self.total += seconds
        for index, bound in enumerate(BUS_BUCKETS):
            if seconds <= bound:
                self.counts[index] += 1
                return
        self.counts[-1] += 1


@dataclass(slots=True)
class Stats:
    """What happened on one hub since it started (gauges are current values)."""

    connections: int = 0  # open sockets
    rooms: dict[str, int] = field(default_factory=dict)  # room id -> attached connections here
    frames_in: dict[str, int] = field(default_factory=dict)  # by client frame type
    frames_out: dict[str, int] = field(default_factory=dict)  # by server frame type
    errors: dict[str, int] = field(default_factory=dict)  # `error` frames sent, by code
    closes: dict[int, int] = field(default_factory=dict)  # closed connections, by close code
    resumes: dict[str, int] = field(default_factory=dict)  # "resumed" or "failed"
    queue_bytes: int = 0  # bytes waiting in send queues
    unacked_bytes: int = 0  # stream bytes sent and not acknowledged
    bus: dict[str, LatencyHistogram] = field(default_factory=dict)  # by bus operation

    def count(self, table: dict[str, int], key: str) -> None:
        """Add one to `table[key]`."""
        table[key] = table.get(key, 0) + 1

    def entered(self, room_id: str) -> None:
        """A connection of this instance is attached to the room."""
        self.rooms[room_id] = self.rooms.get(room_id, 0) + 1

    def left(self, room_id: str) -> None:
        """A connection of this instance let go of the room."""
        left = self.rooms.get(room_id, 0) - 1
        if left > 0:
            self.rooms[room_id] = left
        else:
            self.rooms.pop(room_id, None)

    async def timed(self, operation: str, call: Callable[[], Awaitable[R]]) -> R:
        """Await a bus call and record how long it took."""
        started = time.perf_counter()
        try:
            return await call()
        finally:
            histogram = self.bus.get(operation)
            if histogram is None:
                histogram = self.bus[operation] = LatencyHistogram()
            histogram.observe(time.perf_counter() - started)
