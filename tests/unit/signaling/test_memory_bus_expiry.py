"""The in-process bus forgets what Redis would expire: resume ids after their window, rooms
(and their participants' buffers) a while after their last change. A server running for weeks
must not hold every visit it ever saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signaling.admission import Admission, Role
from signaling.bus import SessionRecord
from signaling.memory_bus import SWEEP_EVERY, InProcessBus
from signaling.room import RoomState

STATE_TTL = 3600.0


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def record(room: str) -> SessionRecord:
    return SessionRecord(room, "p", 1, "u", "U", "guest")


async def enter(bus: InProcessBus, room: str, user: str) -> str:
    admission = Admission(room, user, user, Role.GUEST, datetime(2030, 1, 2, tzinfo=UTC))

    def connect(state: RoomState) -> str:
        return state.connect(admission, 4).participant.pid

    return await bus.update_room(room, connect)


async def test_a_resume_id_is_refused_once_its_window_has_passed() -> None:
    clock = Clock()
    bus = InProcessBus(clock=clock)
    await bus.save_session("r1", record("a"), ttl=30)
    clock.advance(29)
    assert await bus.load_session("r1") == record("a")
    clock.advance(1)
    assert await bus.load_session("r1") is None
    assert bus.held()["sessions"] == 0


async def test_expired_resume_ids_are_swept_even_when_nobody_asks_for_them() -> None:
    clock = Clock()
    bus = InProcessBus(clock=clock)
    for n in range(50):
        await bus.save_session(f"old{n}", record("a"), ttl=10)
    assert bus.held()["sessions"] == 50
    clock.advance(SWEEP_EVERY + 1)
    await bus.save_session("new", record("b"), ttl=10)
    assert bus.held()["sessions"] == 1
    assert await bus.load_session("new") == record("b")


async def test_a_room_untouched_for_the_state_ttl_goes_with_its_buffers() -> None:
    clock = Clock()
    bus = InProcessBus(clock=clock, state_ttl=STATE_TTL)
    pid = await enter(bus, "quiet", "patient")
    await bus.deliver("quiet", [pid], '{"type":"lobby"}')
    assert bus.held() == {"rooms": 1, "routes": 1, "sessions": 0}
    clock.advance(STATE_TTL - 1)
    await enter(bus, "busy", "therapist")  # a sweep runs, but "quiet" is not stale yet
    assert bus.held()["rooms"] == 2
    clock.advance(SWEEP_EVERY)
    await enter(bus, "busy", "other")  # now it is
    assert bus.held() == {"rooms": 1, "routes": 2, "sessions": 0}
    assert (await bus.load_room("quiet")).participants == {}
    assert await bus.pending("quiet", pid, 0) is None


async def test_a_room_in_use_is_kept_past_the_ttl_of_its_first_change() -> None:
    clock = Clock()
    bus = InProcessBus(clock=clock, state_ttl=STATE_TTL)
    pid = await enter(bus, "visit", "patient")
    for _ in range(3):
        clock.advance(STATE_TTL / 2)
        await enter(bus, "visit", "patient")  # a reconnect changes the room
    assert pid in (await bus.load_room("visit")).participants
