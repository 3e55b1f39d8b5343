"""Fixtures: a signaling server on a real socket, a ticket book and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling import SignalingConfig
from tests.integration.signaling.support import (
    ORIGIN,
    Recorder,
    TestClock,
    TicketBook,
    build_app,
)

ServerFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def clock() -> TestClock:
    """The server's clock."""
    return TestClock()


@pytest.fixture
def tickets(clock: TestClock) -> TicketBook:
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
    tickets: TicketBook, clock: TestClock, recorder: Recorder
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
