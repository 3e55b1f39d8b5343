"""State of one visit room and its transitions; pure data, no I/O."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from enum import StrEnum

from signaling.admission import Admission, Role


class Status(StrEnum):
    """Where a participant stands in the room."""

    IDLE = "idle"  # welcomed, has not sent `join` yet
    WAITING = "waiting"
    ADMITTED = "admitted"


class Presence(StrEnum):
    """Whether a participant's connection is up."""

    ONLINE = "online"
    RECONNECTING = "reconnecting"


class RoomError(Exception):
    """A transition that the room's state does not allow."""


class RoomFull(RoomError):
    """The room already holds its maximum of participants."""


class RoomEnded(RoomError):
    """The host ended this visit."""


class NotHost(RoomError):
    """Only the host may do this."""


class UnknownParticipant(RoomError):
    """No such participant in the state the action needs."""


@dataclass(slots=True)
class Participant:
    """One user in a room, across reconnects and replacing tabs."""

    pid: str
    user_id: str
    display_name: str
    role: Role
    status: Status = Status.IDLE
    presence: Presence = Presence.ONLINE
    gen: int = 1  # session generation: a new tab starts a new one
    conn: int = 1  # connection epoch within the generation: each resume bumps it
    deadline: float = 0.0  # unix time until which a reconnecting session may resume

    def copy(self) -> Participant:
        """An independent copy (the strings, being immutable, are shared)."""
        return replace(self)

    @property
    def token(self) -> str:
        """Which connection currently owns this participant."""
        return f"{self.gen}.{self.conn}"

    def public(self) -> dict[str, object]:
        """What peers may know about this participant."""
        presence = "joined" if self.presence is Presence.ONLINE else "reconnecting"
        return {
            "participant": self.pid,
            "display_name": self.display_name,
            "role": self.role.value,
            "presence": presence,
        }


@dataclass(slots=True)
class Connected:
    """Outcome of a hello."""

    participant: Participant
    replaced: bool


@dataclass(slots=True)
class RoomState:
    """All participants of a room; keyed by participant id."""

    room_id: str
    ended: bool = False
    participants: dict[str, Participant] = field(default_factory=dict)
    pids: dict[str, str] = field(default_factory=dict)  # user id -> stable participant id

    # --- queries -------------------------------------------------------------------------
    def admitted(self) -> list[Participant]:
        """Participants inside the visit."""
        return [p for p in self.participants.values() if p.status is Status.ADMITTED]

    def hosts(self) -> list[Participant]:
        """Admitted hosts."""
        return [p for p in self.admitted() if p.role is Role.HOST]

    def waiting(self) -> list[Participant]:
        """Guests in the waiting room."""
        return [p for p in self.participants.values() if p.status is Status.WAITING]

    def chat_recipients(self, sender_pid: str) -> list[str] | None:
        """Who receives a chat message, or None when the sender may not chat.

        Admitted guests talk to the admitted; a waiting guest talks to the hosts only (the waiting
        room is private); hosts also reach the waiting room ("I'll be with you in two minutes").
        The sender always gets their own message back as confirmation.
        """
        sender = self.participants.get(sender_pid)
        if sender is None or sender.status not in (Status.ADMITTED, Status.WAITING):
            return None
        if sender.status is Status.WAITING:
            members = [*self.hosts(), sender]
        elif sender.role is Role.HOST:
            members = [*self.admitted(), *self.waiting()]
        else:
            members = self.admitted()
        return list(dict.fromkeys(p.pid for p in members))

    def get(self, pid: str) -> Participant:
        """The participant, or UnknownParticipant."""
        found = self.participants.get(pid)
        if found is None:
            raise UnknownParticipant(pid)
        return found

    # --- transitions ---------------------------------------------------------------------
    def connect(self, admission: Admission, max_participants: int) -> Connected:
        """A hello: a new participant, or a new session replacing the user's previous one."""
        if self.ended:
            raise RoomEnded(self.room_id)
        pid = self.pids.get(admission.user_id)
        if pid is not None and pid in self.participants:
            existing = self.participants[pid]
            existing.gen += 1
            existing.conn = 1
            existing.presence = Presence.ONLINE
            existing.display_name = admission.display_name
            return Connected(existing, replaced=True)
        if len(self.participants) >= max_participants:
            raise RoomFull(self.room_id)
        if pid is None:
            pid = "p-" + secrets.token_hex(8)
            self.pids[admission.user_id] = pid
        # A random first generation: a user returning after leave or removal keeps the
        # participant id, and old resume ids must not match the new session.
        gen = secrets.randbelow(1 << 30) + 1
        created = Participant(
            pid, admission.user_id, admission.display_name, admission.role, gen=gen
        )
        self.participants[pid] = created
        return Connected(created, replaced=False)

    def join(self, pid: str) -> Participant:
        """`join`: hosts enter at once, guests wait; a second `join` changes nothing."""
        member = self.get(pid)
        if member.status is Status.IDLE:
            member.status = Status.ADMITTED if member.role is Role.HOST else Status.WAITING
        return member

    def _host_acts_on(
        self, host_pid: str, target_pid: str, allowed: tuple[Status, ...]
    ) -> Participant:
        host = self.get(host_pid)
        if host.role is not Role.HOST or host.status is not Status.ADMITTED:
            raise NotHost(host_pid)
        target = self.get(target_pid)
        if target.status not in allowed or target.pid == host.pid:
            raise UnknownParticipant(target_pid)
        return target

    def admit(self, host_pid: str, guest_pid: str) -> Participant:
        """The host lets a waiting guest in."""
        guest = self._host_acts_on(host_pid, guest_pid, (Status.WAITING,))
        guest.status = Status.ADMITTED
        return guest

    def check_deny(self, host_pid: str, guest_pid: str) -> Participant:
        """Validate that the host may deny this waiting guest."""
        return self._host_acts_on(host_pid, guest_pid, (Status.WAITING,))

    def check_remove(self, host_pid: str, guest_pid: str) -> Participant:
        """Validate that the host may remove this guest."""
        return self._host_acts_on(host_pid, guest_pid, (Status.WAITING, Status.ADMITTED))

    def check_end(self, host_pid: str) -> Participant:
        """Validate that this participant may end the visit."""
        host = self.get(host_pid)
        if host.role is not Role.HOST or host.status is not Status.ADMITTED:
            raise NotHost(host_pid)
        return host

    def drop(self, pid: str, gen: int | None = None) -> Participant | None:
        """Remove a participant (leave, deny, remove); only the given generation when set."""
        member = self.participants.get(pid)
        if member is None or (gen is not None and member.gen != gen):
            return None
        del self.participants[pid]
        return member

    def end(self) -> list[Participant]:
        """End the visit; returns everyone who was in it."""
        everyone = list(self.participants.values())
        self.ended = True
        self.participants.clear()
        return everyone

    def disconnect(self, pid: str, token: str, deadline: float) -> Participant | None:
        """The connection `token` dropped; the participant may resume until `deadline`."""
        member = self.participants.get(pid)
        if member is None or member.token != token:
            return None
        member.presence = Presence.RECONNECTING
        member.deadline = deadline
        return member

    def lose(self, pid: str, token: str, deadline: float) -> Participant | None:
        """The instance holding connection `token` died: like `disconnect`, once only."""
        member = self.participants.get(pid)
        if member is None or member.token != token or member.presence is not Presence.ONLINE:
            return None
        member.presence = Presence.RECONNECTING
        member.deadline = deadline
        return member

    def expire(self, pid: str, token: str) -> Participant | None:
        """The resume window of connection `token` has passed: it leaves."""
        member = self.participants.get(pid)
        if member is None or member.token != token or member.presence is not Presence.RECONNECTING:
            return None
        del self.participants[pid]
        return member

    def resume(self, pid: str, gen: int, now: float) -> Participant | None:
        """A resume of generation `gen`: a new connection epoch, or None when not allowed."""
        member = self.participants.get(pid)
        if member is None or member.gen != gen:
            return None
        if member.presence is Presence.RECONNECTING and now > member.deadline:
            return None
        member.conn += 1
        member.presence = Presence.ONLINE
        return member

    # --- persistence ---------------------------------------------------------------------
    def copy(self) -> RoomState:
        """A copy that transitions can change without touching this one.

        What `from_json(to_json())` gives, without the round trip: the copy shares this one's
        strings instead of holding decoded duplicates of each (kept for the room's life)."""
        return RoomState(
            self.room_id,
            self.ended,
            {pid: member.copy() for pid, member in self.participants.items()},
            dict(self.pids),
        )

    def to_json(self) -> str:
        """Serialize for the bus."""
        return json.dumps(
            {
                "room_id": self.room_id,
                "ended": self.ended,
                "pids": self.pids,
                "participants": [
                    [
                        p.pid,
                        p.user_id,
                        p.display_name,
                        p.role.value,
                        p.status.value,
                        p.presence.value,
                        p.gen,
                        p.conn,
                        p.deadline,
                    ]
                    for p in self.participants.values()
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> RoomState:
        """Deserialize what to_json wrote."""
        data = json.loads(raw)
        state = cls(str(data["room_id"]), bool(data["ended"]), {}, dict(data["pids"]))
        for pid, user, name, role, status, presence, gen, conn, deadline in data["participants"]:
            state.participants[pid] = Participant(
                pid,
                user,
                name,
                Role(role),
                Status(status),
                Presence(presence),
                int(gen),
                int(conn),
                float(deadline),
            )
        return state
