"""Presence on the Redis bus: the end of a resume window does not depend on the instance that
started it, and what comes after it (relays, resumes) is refused on every instance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from signaling import Role, SignalingConfig
from signaling.client import ChannelClosed, SignalingChannel
from signaling.redis_bus import RedisBus
from signaling.redis_presence import RedisPresence
from tests.integration.signaling.support import (
    ORIGIN,
    HandClock,
    Recorder,
    TicketBook,
    build_app,
    closed_with,
    connect,
)
from tests.services import REDIS_URL

pytestmark = pytest.mark.redis

WINDOW = 1.0


async def _server(
    bus: RedisBus, tickets: TicketBook, clock: HandClock, recorder: Recorder, clients: list[Redis]
) -> tuple[TestServer, RedisPresence]:
    # Each instance has a client of its own for its presence, as a process would.
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    clients.append(client)
    presence = RedisPresence(
        client,
        prefix=bus.prefix,
        heartbeat=0.1,
        ttl=0.5,
    )
    config = SignalingConfig(
        authorizer=tickets,
        allowed_origins=frozenset({ORIGIN}),
        lifecycle=recorder,
        clock=clock,
        heartbeat=None,
        bus=bus,
        presence=presence,
        resume_window=WINDOW,
    )
    server = TestServer(build_app(config), host="127.0.0.1")
    await server.start_server()
    return server, presence


async def _admitted_pair(
    http: aiohttp.ClientSession, url_host: str, url_guest: str, tickets: TicketBook, room: str
) -> tuple[SignalingChannel, SignalingChannel]:
    host = await connect(http, url_host, tickets.issue(room, "therapist", Role.HOST))
    guest = await connect(http, url_guest, tickets.issue(room, "patient"))
    await host.send("join")
    await host.receive_type("admitted")
    await guest.send("join")
    lobby = await host.receive_type("lobby")
    while not lobby["waiting"]:
        lobby = await host.receive_type("lobby")
    await host.send("admit", participant=guest.welcome.participant)  # type: ignore[union-attr]
    await guest.receive_type("admitted")
    assert (await host.receive_type("presence"))["presence"] == "joined"
    return host, guest


async def test_left_comes_from_another_instance_and_ends_relays_and_resumes(
    redis_buses: Callable[[], Awaitable[RedisBus]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
    clock: HandClock,
    recorder: Recorder,
) -> None:
    clients: list[Redis] = []
    first, _ = await _server(await redis_buses(), tickets, clock, recorder, clients)
    second, _ = await _server(await redis_buses(), tickets, clock, recorder, clients)
    try:
        url_a = str(first.make_url("/signaling/v1"))
        url_b = str(second.make_url("/signaling/v1"))
        host, guest = await _admitted_pair(http, url_b, url_a, tickets, "w")
        guest_pid = guest.welcome.participant  # type: ignore[union-attr]

        await guest.drop()
        assert (await host.receive_type("presence"))["presence"] == "reconnecting"
        away = time.monotonic()
        # The instance that saw the socket drop stops: before, its timer died with it.
        await first.close()
        async with asyncio.timeout(30):
            left = await host.receive_type("presence")
        assert (left["participant"], left["presence"]) == (guest_pid, "left")
        assert time.monotonic() - away >= WINDOW - 0.05

        seq = await host.send("offer", to=guest_pid, sdp="v=0\r\n")
        await host.send("chat", text="after the offer")
        await host.receive_type("chat")
        assert [(e["code"], e["ref"]) for e in host.errors] == [("unknown_participant", seq)]
        with pytest.raises(ChannelClosed) as refused:
            await guest.resume(url_b)
        assert refused.value.code == 4006
        await host.close()
    finally:
        await first.close()
        await second.close()
        for client in clients:
            await client.aclose()


async def test_an_instance_taken_for_dead_sends_its_clients_to_resume(
    redis_buses: Callable[[], Awaitable[RedisBus]],
    http: aiohttp.ClientSession,
    tickets: TicketBook,
    clock: HandClock,
    recorder: Recorder,
) -> None:
    clients: list[Redis] = []
    bus = await redis_buses()
    first, presence = await _server(bus, tickets, clock, recorder, clients)
    second, _ = await _server(await redis_buses(), tickets, clock, recorder, clients)
    try:
        url_a = str(first.make_url("/signaling/v1"))
        url_b = str(second.make_url("/signaling/v1"))
        host, guest = await _admitted_pair(http, url_b, url_a, tickets, "d")
        old_id = presence.instance_id
        # As a survivor leaves an instance it has taken over once that one had paused past its
        # TTL (see docs/signaling.md): no liveness key, struck from the instances.
        await clients[0].delete(f"{bus.prefix}alive:{old_id}")
        await clients[0].srem(f"{bus.prefix}instances", old_id)
        async with asyncio.timeout(30):
            assert await closed_with(guest) == 1001
            assert (await host.receive_type("presence"))["presence"] == "reconnecting"
        assert presence.instance_id != old_id
        assert await clients[0].exists(f"{bus.prefix}alive:{presence.instance_id}")
        # The client resumes, here on the same instance, which serves on under its new id.
        resumed = await guest.resume(url_a)
        assert resumed["type"] == "resumed"
        async with asyncio.timeout(30):
            frame = await host.receive_type("presence")
            while frame["presence"] == "reconnecting":
                frame = await host.receive_type("presence")
        assert frame["presence"] == "joined"
        await host.send("chat", text="still here")
        assert (await guest.receive_type("chat"))["text"] == "still here"
        await host.close()
        await guest.close()
    finally:
        await first.close()
        await second.close()
        for client in clients:
            await client.aclose()
