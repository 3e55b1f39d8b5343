"""Where room state, resume buffers and deliveries live, shared by all server instances."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Protocol, TypeVar

from signaling.room import RoomState

T = TypeVar("T")

# Called for each frame addressed to a participant: (owner token, seq, close code, body).
# seq 0 is a control message: only "the owner is now `token`".
FrameSink = Callable[[str, int, int, str], None]
PendingFrame = tuple[int, int, str]  # (seq, close code, body)


class RelayOutcome(Enum):
    """What became of a relayed frame."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    SENDER_NOT_ADMITTED = "sender_not_admitted"
    UNKNOWN_RECIPIENT = "unknown_recipient"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a resume id stands for."""

    room_id: str
    pid: str
    gen: int
    user_id: str
    display_name: str
    role: str

    def to_json(self) -> str:
        """Serialize for the bus."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionRecord:
        """Deserialize what to_json wrote."""
        data = json.loads(raw)
        return cls(
            str(data["room_id"]),
            str(data["pid"]),
            int(data["gen"]),
            str(data["user_id"]),
            str(data["display_name"]),
            str(data["role"]),
        )


class Subscription(Protocol):
    """A live subscription to one participant's frames."""

    async def close(self) -> None:
        """Stop receiving."""
        ...


class Bus(Protocol):
    """Shared state and delivery; `InProcessBus` for one process, `RedisBus` for several."""

    async def update_room(self, room_id: str, mutate: Callable[[RoomState], T]) -> T:
        """Apply `mutate` atomically to the room (created empty when absent); return its result."""
        ...

    async def load_room(self, room_id: str) -> RoomState:
        """A snapshot of the room."""
        ...

    async def save_session(self, resume_id: str, record: SessionRecord, ttl: float) -> None:
        """Remember what a resume id stands for."""
        ...

    async def load_session(self, resume_id: str) -> SessionRecord | None:
        """Look a resume id up."""
        ...

    async def deliver(
        self, room_id: str, recipients: Sequence[str], body: str, close: int = 0
    ) -> None:
        """Append a stream frame to each present recipient's buffer and hand it to its owner.

        A buffer keeps at most its byte limit: the oldest frames go first.
        """
        ...

    async def relay(
        self, room_id: str, sender: str, sender_seq: int, to: str, body: str
    ) -> RelayOutcome:
        """Deliver between two admitted participants, once per sender seq."""
        ...

    async def mark_processed(self, room_id: str, pid: str, seq: int) -> bool:
        """Record that client frame `seq` was processed; False when it already was."""
        ...

    async def processed(self, room_id: str, pid: str) -> int:
        """Highest client seq processed for the participant's current session."""
        ...

    async def subscribe(self, room_id: str, pid: str, sink: FrameSink) -> Subscription:
        """Receive frames addressed to a participant."""
        ...

    async def pending(self, room_id: str, pid: str, after: int) -> list[PendingFrame] | None:
        """Unacknowledged frames with seq > after; None when some were already discarded."""
        ...

    async def ack(self, room_id: str, pid: str, seq: int) -> None:
        """Forget frames up to seq."""
        ...

    async def announce_owner(self, room_id: str, pid: str, token: str) -> None:
        """Tell every holder of this participant that `token` owns it now."""
        ...

    async def close(self) -> None:
        """Release resources."""
        ...
