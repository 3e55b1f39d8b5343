"""A closed connection is freed as soon as its handler ends, by reference counting alone.

An object graph held in a reference cycle waits for a full garbage collection, which may not
come for minutes under load: until then a closed socket keeps its request, its aiohttp objects
and its buffers. So the test turns the collector off and watches the server's connections go.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest

from signaling.connection import Connection
from signaling.redis_bus import RedisBus
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import TicketBook, admitted_pair

# Generous: the handler finishes within milliseconds of the client's close.
RELEASE_SECONDS = 10.0


@pytest.fixture(params=["in-process", "redis"])
def server(
    request: pytest.FixtureRequest, start_server: ServerFactory
) -> Callable[[], Awaitable[str]]:
    """Start a server on the bus the parameter names."""
    make_bus: Callable[[], Awaitable[RedisBus]] | None = None
    if request.param == "redis":
        make_bus = request.getfixturevalue("redis_buses")

    async def start() -> str:
        if make_bus is not None:
            return await start_server(bus=await make_bus())
        return await start_server()

    return start


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def live_connections() -> set[int]:
    return {id(o) for o in gc.get_objects() if type(o) is Connection}


async def test_a_closed_connection_is_freed_without_the_garbage_collector(
    http: aiohttp.ClientSession,
    server: Callable[[], Awaitable[str]],
    tickets: TicketBook,
    collector_off: None,
) -> None:
    url = await server()
    before = live_connections()
    host, guest = await admitted_pair(http, url, tickets)
    await host.send("chat", text="see you next week")
    await guest.receive_type("chat")
    opened = live_connections() - before
    assert len(opened) == 2
    await guest.close()
    await host.close()
    async with asyncio.timeout(RELEASE_SECONDS):
        while opened & live_connections():  # noqa: ASYNC110 - freed by the server handler
            await asyncio.sleep(0.05)
