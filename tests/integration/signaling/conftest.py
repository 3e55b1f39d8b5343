"""Fixtures: a signaling server on a real socket, a ticket book and an HTTP client."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from signaling import SignalingConfig
from signaling.redis_bus import RedisBus
from tests.integration.signaling.support import (
    ORIGIN,
    HandClock,
    Recorder,
    TicketBook,
    build_app,
)
from tests.services import REDIS_URL, service_missing, tcp_reachable

ServerFactory = Callable[..., Awaitable[str]]
REDIS_HOST = urlsplit(REDIS_URL).hostname or "127.0.0.1"
REDIS_PORT = urlsplit(REDIS_URL).port or 6379


@pytest.fixture
def clock() -> HandClock:
    """The server's clock."""
    return HandClock()


@pytest.fixture
def tickets(clock: HandClock) -> TicketBook:
    """The application's ticket book."""
    return TicketBook(clock)


@pytest.fixture
def recorder() -> Recorder:
    """Lifecycle events."""
    return Recorder()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def start_server(
    tickets: TicketBook, clock: HandClock, recorder: Recorder
) -> AsyncIterator[ServerFactory]:
    """Start signaling servers; returns the WebSocket URL of each."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> str:
        config = SignalingConfig(
            authorizer=tickets,
            allowed_origins=frozenset({ORIGIN}),
            lifecycle=recorder,
            clock=clock,
            heartbeat=None,
        )
        config = replace(config, **overrides)
        server = TestServer(build_app(config), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url(config.path))

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def server_url(start_server: ServerFactory) -> str:
    """One in-process signaling server."""
    return await start_server()


@pytest.fixture
def redis_client_name() -> str:
    """The connection name this test's buses give Redis: a test that cuts connections cuts only
    its own, not those of tests running beside it in other processes."""
    return f"sigtest-{secrets.token_hex(6)}"


@pytest.fixture
async def redis_buses(redis_client_name: str) -> AsyncIterator[Callable[..., Awaitable[RedisBus]]]:
    """RedisBus instances on the test database, each with its own client, one key prefix."""
    if not tcp_reachable(REDIS_HOST, REDIS_PORT):
        service_missing("Redis", f"nothing listens on {REDIS_HOST}:{REDIS_PORT}")
    prefix = f"sigtest:{secrets.token_hex(6)}:"
    made: list[tuple[Redis, RedisBus]] = []

    async def make(**options: Any) -> RedisBus:
        client = Redis.from_url(REDIS_URL, decode_responses=True, client_name=redis_client_name)
        bus = RedisBus(client, prefix=prefix, **options)
        made.append((client, bus))
        return bus

    try:
        yield make
    finally:
        for _, bus in made:
            await bus.close()
        if made:
            client = made[0][0]
            keys = [k async for k in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        for client, _ in made:
            await client.aclose()
