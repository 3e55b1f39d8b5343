"""The application ends a user's access: `Hub.revoke` closes the socket with 4007 on whichever
instance holds it and ends the session, and a resume guard refuses resumes with 4007."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from signaling import SIGNALING_HUB, CloseCode, Role, SignalingConfig
from signaling.client import ChannelClosed, SignalingChannel
from signaling.hub import Hub
from signaling.redis_bus import RedisBus
from tests.integration.signaling.support import (
    ORIGIN,
    HandClock,
    Recorder,
    TicketBook,
    admitted_pair,
    build_app,
    closed_with,
)

Started = tuple[str, Hub]


@dataclass
class Allowed:
    """A resume guard: the users the application still lets in."""

    users: set[str] = field(default_factory=set)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def may_resume(self, room_id: str, user_id: str) -> bool:
        """Whether the user is still allowed."""
        self.asked.append((room_id, user_id))
        return user_id in self.users


@pytest.fixture
async def start_hub(
    tickets: TicketBook, clock: HandClock, recorder: Recorder
) -> AsyncIterator[Callable[..., Awaitable[Started]]]:
    """Start signaling servers; each gives its URL and its hub."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> Started:
        config = SignalingConfig(
            authorizer=tickets,
            allowed_origins=frozenset({ORIGIN}),
            lifecycle=recorder,
            clock=clock,
            heartbeat=None,
            **overrides,
        )
        app: web.Application = build_app(config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url(config.path)), app[SIGNALING_HUB]

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


async def _resume_refused(channel: SignalingChannel) -> int | None:
    with pytest.raises(ChannelClosed) as refused:
        await channel.resume()
    return refused.value.code


async def test_revoke_closes_the_socket_and_ends_the_session(
    start_hub: Callable[..., Awaitable[Started]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
    recorder: Recorder,
) -> None:
    url, hub = await start_hub()
    host, guest = await admitted_pair(http, url, tickets)

    gone = await hub.revoke("v", "patient")

    assert gone is not None and gone.user_id == "patient"
    assert await closed_with(guest) == CloseCode.REVOKED
    assert guest.close_reason == "revoked"
    while (presence := await host.receive_type("presence"))["presence"] != "left":
        pass
    assert presence["participant"] == gone.pid
    assert ("leave", "v", "patient") in recorder.calls
    # The session is gone: its resume id is refused.
    assert await _resume_refused(guest) == CloseCode.RESUME_FAILED
    # Nothing to revoke twice; the host stays.
    assert await hub.revoke("v", "patient") is None
    await host.send("chat", text="still here")
    assert (await host.receive_type("chat"))["text"] == "still here"
    await host.close()


async def test_revoke_reaches_a_user_who_is_reconnecting(
    start_hub: Callable[..., Awaitable[Started]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
) -> None:
    url, hub = await start_hub()
    host, guest = await admitted_pair(http, url, tickets)
    await guest.drop()
    while (await host.receive_type("presence"))["presence"] != "reconnecting":
        pass

    assert await hub.revoke("v", "patient") is not None

    assert await _resume_refused(guest) == CloseCode.RESUME_FAILED
    await host.close()


async def test_a_resume_guard_refuses_a_user_the_application_no_longer_lets_in(
    start_hub: Callable[..., Awaitable[Started]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
) -> None:
    allowed = Allowed({"therapist", "patient"})
    url, _ = await start_hub(resume_guard=allowed)
    host, guest = await admitted_pair(http, url, tickets)
    await guest.drop()
    # Allowed: the resume works as usual.
    assert (await guest.resume())["type"] == "resumed"
    await guest.drop()
    allowed.users.discard("patient")

    assert await _resume_refused(guest) == CloseCode.REVOKED
    assert guest.close_reason == "revoked"
    assert allowed.asked == [("v", "patient"), ("v", "patient")]
    await host.close()


# redis_buses comes first among the fixtures so it is torn down after the servers.
@pytest.mark.redis
async def test_revoke_on_one_instance_closes_the_socket_on_another(
    redis_buses: Callable[[], Awaitable[RedisBus]],
    start_hub: Callable[..., Awaitable[Started]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
) -> None:
    url_a, hub_a = await start_hub(bus=await redis_buses())
    url_b, _ = await start_hub(bus=await redis_buses())
    host = SignalingChannel(http, url_a, ORIGIN)
    await host.hello(tickets.issue("v", "therapist", Role.HOST))
    guest = SignalingChannel(http, url_b, ORIGIN)
    await guest.hello(tickets.issue("v", "patient"))
    await host.send("join")
    await host.receive_type("admitted")
    await guest.send("join")
    await guest.receive_type("waiting")
    assert guest.welcome is not None
    await host.send("admit", participant=guest.welcome.participant)
    await guest.receive_type("admitted")

    assert await hub_a.revoke("v", "patient") is not None

    assert await closed_with(guest) == CloseCode.REVOKED
    assert await _resume_refused(guest) == CloseCode.RESUME_FAILED
    await host.close()
