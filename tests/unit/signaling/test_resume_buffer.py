"""Sequencing, acknowledgement and replay of a participant's stream (in-process bus)."""

from __future__ import annotations

from datetime import UTC, datetime

from signaling.admission import Admission, Role
from signaling.memory_bus import InProcessBus
from signaling.room import RoomState


async def setup_bus(buffer_bytes: int = 64) -> tuple[InProcessBus, str, list[tuple[int, str]]]:
    bus = InProcessBus(buffer_bytes=buffer_bytes)
    admission = Admission("r", "u", "U", Role.GUEST, datetime(2030, 1, 1, tzinfo=UTC))

    def enter(state: RoomState) -> str:
        return state.connect(admission, 4).participant.pid

    pid = await bus.update_room("r", enter)
    seen: list[tuple[int, str]] = []
    await bus.subscribe("r", pid, lambda tok, seq, close, body: seen.append((seq, body)))
    return bus, pid, seen


async def test_frames_are_numbered_and_replayed_after_the_last_processed() -> None:
    bus, pid, seen = await setup_bus()
    for n in range(3):
        await bus.deliver("r", [pid], f'{{"n":{n}}}')
    assert [s for s, _ in seen] == [1, 2, 3]
    await bus.ack("r", pid, 1)
    assert [f[0] for f in await bus.pending("r", pid, 1) or []] == [2, 3]
    assert await bus.pending("r", pid, 3) == []
    assert await bus.pending("r", pid, 0) is None  # frame 1 was acknowledged and dropped
    assert await bus.pending("r", pid, 9) is None  # the client claims frames never sent


async def test_overflowing_the_buffer_in_bytes_drops_the_oldest_and_makes_a_gap() -> None:
    bus, pid, _ = await setup_bus(buffer_bytes=20)
    for _ in range(3):
        await bus.deliver("r", [pid], '{"n":"é"}')  # 10 bytes each in UTF-8, 9 characters
    assert await bus.pending("r", pid, 0) is None
    assert [f[0] for f in await bus.pending("r", pid, 1) or []] == [2, 3]


async def test_a_buffer_exactly_full_keeps_every_frame_and_acks_free_room() -> None:
    bus, pid, _ = await setup_bus(buffer_bytes=20)
    await bus.deliver("r", [pid], '{"n":"é"}')
    await bus.deliver("r", [pid], '{"n":"é"}')
    assert [f[0] for f in await bus.pending("r", pid, 0) or []] == [1, 2]
    await bus.ack("r", pid, 1)
    await bus.deliver("r", [pid], '{"n":"é"}')  # fits: the ack freed 10 bytes
    assert [f[0] for f in await bus.pending("r", pid, 1) or []] == [2, 3]


async def test_processed_client_frames_are_not_processed_twice() -> None:
    bus, pid, _ = await setup_bus()
    assert await bus.mark_processed("r", pid, 1)
    assert not await bus.mark_processed("r", pid, 1)
    assert await bus.processed("r", pid) == 1
