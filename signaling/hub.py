"""Room-wide effects shared by all connections of one server instance."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from signaling.bus import Bus
from signaling.codes import CloseCode
from signaling.config import SignalingConfig
from signaling.outlet import Outlet
from signaling.protocol import encode
from signaling.room import Participant, RoomState, Status


class Hub:
    """Owns the bus, the application's hooks and the background timers of one instance."""

    def __init__(self, config: SignalingConfig, bus: Bus) -> None:
        self.config = config
        self.bus = bus
        self.limits = config.limits
        self.clock = config.clock
        self.lifecycle = config.lifecycle
        self._tasks: set[asyncio.Task[None]] = set()
        # Open sockets, so a shutting-down instance can send its clients elsewhere.
        self.outlets: set[Outlet] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a background job that is cancelled when the hub closes."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def going_away(self) -> None:
        """Close every socket with 1001 so clients resume on another instance."""
        for outlet in list(self.outlets):
            outlet.close(CloseCode.GOING_AWAY, "going_away")

    async def close(self) -> None:
        """Cancel background jobs."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

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

    async def expire_later(self, room_id: str, pid: str, token: str) -> None:
        """When the resume window passes without a resume, the participant leaves."""
        await asyncio.sleep(self.config.resume_window)
        gone = await self.bus.update_room(room_id, lambda s: s.expire(pid, token))
        if gone is not None:
            await self.after_departure(await self.bus.load_room(room_id), gone)
