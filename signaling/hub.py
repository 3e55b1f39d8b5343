"""Room-wide effects shared by all connections of one server instance."""

from __future__ import annotations

from signaling.bus import Bus
from signaling.codes import CloseCode
from signaling.config import SignalingConfig
from signaling.outlet import Outlet
from signaling.presence import Hosted, LocalPresence, Presence
from signaling.protocol import encode
from signaling.room import Participant, RoomState, Status
from signaling.stats import Stats
from signaling.timed_bus import TimedBus


class Hub:
    """Owns the bus, the application's hooks and the background timers of one instance."""

    def __init__(self, config: SignalingConfig, bus: Bus) -> None:
        self.config = config
        self.stats: Stats = config.stats
        # Every call is timed for the bus latency metric.
        self.bus: Bus = TimedBus(bus, self.stats)
        self.limits = config.limits
        self.clock = config.clock
        self.lifecycle = config.lifecycle
        # Open sockets, so a shutting-down instance can send its clients elsewhere.
        self.outlets: set[Outlet] = set()
        # Liveness and resume-window ends; in Redis when several instances share the rooms.
        self.presence: Presence = config.presence or LocalPresence()

    def going_away(self) -> None:
        """Close every socket with 1001 so clients resume on another instance."""
        for outlet in list(self.outlets):
            outlet.close(CloseCode.GOING_AWAY, "going_away")

    async def close(self) -> None:
        """Stop the presence (its heartbeat and window timers)."""
        await self.presence.close()

    # --- room-wide frames ----------------------------------------------------------------
    async def send_presence(self, state: RoomState, member: Participant, presence: str) -> None:
        """Tell admitted peers (not the member) how the member is doing."""
        others = [p.pid for p in state.admitted() if p.pid != member.pid]
        if others:
            frame = {"type": "presence", **member.public(), "presence": presence}
            await self.bus.deliver(state.room_id, others, encode(frame))

    async def send_lobby(self, state: RoomState) -> None:
        """Give hosts the full waiting list."""
        hosts = [p.pid for p in state.hosts()]
        if hosts:
            waiting = [
                {"participant": p.pid, "display_name": p.display_name} for p in state.waiting()
            ]
            await self.bus.deliver(
                state.room_id, hosts, encode({"type": "lobby", "waiting": waiting})
            )

    async def send_admitted(self, state: RoomState, member: Participant) -> None:
        """Tell a participant it is in, with who else is."""
        peers = [p.public() for p in state.admitted() if p.pid != member.pid]
        await self.bus.deliver(
            state.room_id, [member.pid], encode({"type": "admitted", "participants": peers})
        )

    async def after_departure(self, state: RoomState, gone: Participant) -> None:
        """Frames and callbacks once a participant has left the room for good."""
        if gone.status is Status.ADMITTED:
            await self.send_presence(state, gone, "left")
        elif gone.status is Status.WAITING:
            await self.send_lobby(state)
        await self.lifecycle.on_leave(state.room_id, gone.user_id)

    # --- presence ------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin heartbeating (on a shared bus) and handling resume-window ends."""
        await self.presence.start(self)

    async def window_over(self, entry: Hosted) -> None:
        """When the resume window passes without a resume, the participant leaves."""
        gone = await self.bus.update_room(entry.room_id, lambda s: s.expire(entry.pid, entry.token))
        if gone is not None:
            await self.after_departure(await self.bus.load_room(entry.room_id), gone)

    async def lost(self, entries: list[Hosted]) -> None:
        """Connections of an instance that stopped heartbeating: as if each had dropped."""
        for entry in entries:
            await self._lose(entry)

    async def _lose(self, entry: Hosted) -> None:
        window = self.config.resume_window
        # Scheduled first: should this instance die next, another one still ends the window.
        await self.presence.leave_at(entry, window)
        deadline = self.clock.now().timestamp() + window
        member, state = await self.bus.update_room(
            entry.room_id, lambda s: (s.lose(entry.pid, entry.token, deadline), s)
        )
        if member is not None and member.status is Status.ADMITTED:
            await self.send_presence(state, member, "reconnecting")

    def presumed_dead(self) -> None:
        """The others took this instance for dead and marked its participants away: send the
        clients off to resume, so the room state and the sockets agree again."""
        self.going_away()

    # --- revocation ----------------------------------------------------------------------
    async def revoke(self, room_id: str, user_id: str) -> Participant | None:
        """The application no longer lets `user_id` into `room_id`: close its socket, end its
        session (so its resume id is refused) and tell the room; the participant, or None.

        Works from any instance: the close travels to the socket's instance like any stream
        frame, and the participant leaves the shared room state.
        """
        snapshot = await self.bus.load_room(room_id)
        pid = snapshot.pids.get(user_id)
        member = snapshot.participants.get(pid) if pid is not None else None
        if member is None:
            return None
        # Delivered while still a member (the route exists), then dropped: as `remove` does.
        await self.bus.deliver(
            room_id, [member.pid], encode({"type": "revoked"}), CloseCode.REVOKED
        )
        gone, state = await self.bus.update_room(
            room_id, lambda s: (s.drop(member.pid, member.gen), s)
        )
        if gone is not None:
            await self.after_departure(state, gone)
        return gone
