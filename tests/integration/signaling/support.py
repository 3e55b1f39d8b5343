"""A test application around the signaling library, with a real in-memory ticket book."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from signaling import Admission, Role, SignalingConfig, setup_signaling
from signaling.client import ChannelClosed, SignalingChannel

ORIGIN = "https://clinic.test"


class HandClock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.current = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The frozen time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += timedelta(seconds=seconds)


@dataclass
class TicketBook:
    """Single-use tickets with a validity window, as the application issues them."""

    clock: HandClock
    tickets: dict[str, Admission] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def issue(
        self,
        room: str,
        user: str,
        role: Role = Role.GUEST,
        name: str | None = None,
        window: timedelta = timedelta(hours=1),
    ) -> str:
        """Issue a ticket."""
        ticket = secrets.token_urlsafe(16)
        end = self.clock.now() + window
        self.tickets[ticket] = Admission(room, user, name or user.title(), role, end)
        return ticket

    async def authorize(self, ticket: str, room_id: str | None) -> Admission | None:
        """Accept each ticket once, inside its window, at its own room's URL (or the bare path);
        a ticket shown at another room's URL stays unused."""
        admission = self.tickets.get(ticket)
        if admission is None or ticket in self.used or admission.window_end <= self.clock.now():
            return None
        if room_id is not None and room_id != admission.room_id:
            return None
        self.used.add(ticket)
        return admission


@dataclass
class Recorder:
    """Lifecycle callbacks that write down what happened."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def on_join(self, room_id: str, user_id: str) -> None:
        """Record."""
        self.calls.append(("join", room_id, user_id))

    async def on_admit(self, room_id: str, user_id: str) -> None:
        """Record."""
        self.calls.append(("admit", room_id, user_id))

    async def on_deny(self, room_id: str, user_id: str) -> None:
        """Record."""
        self.calls.append(("deny", room_id, user_id))

    async def on_leave(self, room_id: str, user_id: str) -> None:
        """Record."""
        self.calls.append(("leave", room_id, user_id))

    async def on_end(self, room_id: str, user_id: str) -> None:
        """Record."""
        self.calls.append(("end", room_id, user_id))


def build_app(config: SignalingConfig) -> web.Application:
    """An application that only serves signaling."""
    app = web.Application()
    setup_signaling(app, config)
    return app


async def connect(
    http: aiohttp.ClientSession, url: str, ticket: str, origin: str = ORIGIN
) -> SignalingChannel:
    """Open a channel and say hello."""
    channel = SignalingChannel(http, url, origin)
    await channel.hello(ticket)
    return channel


async def closed_with(channel: SignalingChannel) -> int | None:
    """Read until the server closes; return the close code."""
    with pytest.raises(ChannelClosed) as closed:
        while True:
            await channel.receive()
    return closed.value.code


async def admitted_pair(
    http: aiohttp.ClientSession, url: str, tickets: TicketBook, room: str = "v"
) -> tuple[SignalingChannel, SignalingChannel]:
    """A host and a guest in `room`, both admitted (the host let the guest in)."""
    host = await connect(http, url, tickets.issue(room, "therapist", Role.HOST))
    guest = await connect(http, url, tickets.issue(room, "patient"))
    await host.send("join")
    await host.receive_type("admitted")
    await guest.send("join")
    await guest.receive_type("waiting")
    await host.send("admit", participant=guest.welcome.participant)  # type: ignore[union-attr]
    await guest.receive_type("admitted")
    return host, guest
