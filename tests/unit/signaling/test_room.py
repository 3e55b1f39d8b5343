"""Room state transitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signaling.admission import Admission, Role
from signaling.room import (
    NotHost,
    Presence,
    RoomEnded,
    RoomFull,
    RoomState,
    Status,
    UnknownParticipant,
)

END = datetime(2030, 1, 1, tzinfo=UTC)


def ticket(user: str, role: Role = Role.GUEST) -> Admission:
    return Admission("r", user, user.title(), role, END)


def test_host_enters_guest_waits_until_admitted() -> None:
    room = RoomState("r")
    host = room.connect(ticket("t", Role.HOST), 4).participant
    guest = room.connect(ticket("p"), 4).participant
    assert room.join(host.pid).status is Status.ADMITTED
    assert room.join(guest.pid).status is Status.WAITING
    with pytest.raises(NotHost):
        room.admit(guest.pid, guest.pid)
    room.admit(host.pid, guest.pid)
    assert [p.pid for p in room.admitted()] == [host.pid, guest.pid]
    with pytest.raises(UnknownParticipant):
        room.admit(host.pid, guest.pid)  # not waiting any more


def test_second_tab_keeps_the_participant_and_starts_a_new_generation() -> None:
    room = RoomState("r")
    first = room.connect(ticket("p"), 4).participant
    gen = first.gen
    again = room.connect(ticket("p"), 4)
    assert again.replaced and again.participant.pid == first.pid
    assert again.participant.gen == gen + 1


def test_limits_and_end() -> None:
    room = RoomState("r")
    host = room.connect(ticket("t", Role.HOST), 2).participant
    room.connect(ticket("p"), 2)
    with pytest.raises(RoomFull):
        room.connect(ticket("q"), 2)
    room.join(host.pid)
    assert len(room.end()) == 2
    with pytest.raises(RoomEnded):
        room.connect(ticket("p"), 2)


def test_disconnect_resume_and_expiry_only_for_the_same_connection() -> None:
    room = RoomState("r")
    member = room.connect(ticket("p"), 4).participant
    token = member.token
    assert room.disconnect(member.pid, "0.0", 10.0) is None
    assert room.disconnect(member.pid, token, 10.0) is not None
    assert room.resume(member.pid, member.gen, now=11.0) is None  # window passed
    resumed = room.resume(member.pid, member.gen, now=9.0)
    assert resumed is not None and resumed.presence is Presence.ONLINE
    assert room.expire(member.pid, token) is None  # the old connection's timer is stale
    room.disconnect(member.pid, resumed.token, 20.0)
    assert room.expire(member.pid, resumed.token) is not None
    assert member.pid not in room.participants


def test_a_dead_instance_loses_only_current_online_connections_once() -> None:
    room = RoomState("r")
    member = room.connect(ticket("p"), 4).participant
    token = member.token
    assert room.lose(member.pid, "0.0", 10.0) is None  # not the current connection
    lost = room.lose(member.pid, token, 10.0)
    assert lost is not None and lost.presence is Presence.RECONNECTING and lost.deadline == 10.0
    assert room.lose(member.pid, token, 99.0) is None  # a second survivor changes nothing
    assert room.participants[member.pid].deadline == 10.0
    assert room.resume(member.pid, member.gen, now=11.0) is None  # the window is shared state
    assert room.expire(member.pid, token) is not None


def test_json_round_trip() -> None:
    room = RoomState("r")
    host = room.connect(ticket("t", Role.HOST), 4).participant
    room.join(host.pid)
    assert RoomState.from_json(room.to_json()) == room


def test_a_copy_equals_the_round_trip_and_changes_alone() -> None:
    room = RoomState("r")
    host = room.connect(ticket("t", Role.HOST), 4).participant
    room.join(host.pid)
    guest = room.connect(ticket("g"), 4).participant
    copy = room.copy()
    assert copy == RoomState.from_json(room.to_json()) == room
    copy.join(guest.pid)
    copy.disconnect(host.pid, host.token, 30.0)
    copy.connect(ticket("x"), 4)
    assert room.get(guest.pid).status is Status.IDLE
    assert room.get(host.pid).presence is Presence.ONLINE
    assert len(room.participants) == len(room.pids) == 2


def test_chat_recipients_keep_the_waiting_room_private() -> None:
    room = RoomState("r")
    host = room.connect(ticket("t", Role.HOST), 6).participant
    inside = room.connect(ticket("p"), 6).participant
    waiting = room.connect(ticket("w"), 6).participant
    other_waiting = room.connect(ticket("x"), 6).participant
    not_joined = room.connect(ticket("n"), 6).participant
    for p in (host, inside, waiting, other_waiting):
        room.join(p.pid)
    room.admit(host.pid, inside.pid)

    assert room.chat_recipients(not_joined.pid) is None
    # A waiting guest reaches the hosts (and sees their own message), never other waiting guests.
    assert set(room.chat_recipients(waiting.pid) or []) == {host.pid, waiting.pid}
    # An admitted guest talks to those inside only.
    assert set(room.chat_recipients(inside.pid) or []) == {host.pid, inside.pid}
    # The host reaches everyone, the waiting room included.
    assert set(room.chat_recipients(host.pid) or []) == {
        host.pid,
        inside.pid,
        waiting.pid,
        other_waiting.pid,
    }
