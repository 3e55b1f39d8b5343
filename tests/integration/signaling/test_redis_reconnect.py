"""The Redis bus's pub/sub reader outlives losing its connection to Redis.

Redis drops a pub/sub connection on a restart, at its output-buffer limit for a slow subscriber,
or on a network blip, and the reconnect itself may be refused for a while. Were the reader to
end, every participant of the process would silently stop receiving.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from signaling.redis_bus import RedisBus
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import TicketBook, admitted_pair
from tests.services import REDIS_URL

# Long enough to exhaust redis-py's own reconnect attempts.
OUTAGE_SECONDS = 1.5


async def test_deliveries_resume_after_the_pub_sub_connection_is_lost(
    http: aiohttp.ClientSession,
    start_server: ServerFactory,
    redis_buses: Callable[[], Awaitable[RedisBus]],
    redis_client_name: str,
    tickets: TicketBook,
) -> None:
    url = await start_server(bus=await redis_buses())
    host, guest = await admitted_pair(http, url, tickets)
    await host.send("chat", text="before")
    assert (await guest.receive_type("chat"))["text"] == "before"

    admin = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        # Every pub/sub connection of this test's buses, and each new one, is cut for a while.
        loop = asyncio.get_running_loop()
        until = loop.time() + OUTAGE_SECONDS
        cut = 0
        while loop.time() < until:
            for connection in await admin.client_list(_type="pubsub"):
                if connection["name"] == redis_client_name:
                    with contextlib.suppress(ResponseError):  # it went while listed
                        cut += await admin.client_kill_filter(_id=connection["id"])
            await asyncio.sleep(0.005)
    finally:
        await admin.aclose()
    assert cut > 0, "no pub/sub connection of this test's buses was found to cut"

    # Frames published while the reader was away are not replayed by pub/sub; the next ones
    # arrive once it is back.
    received = None
    for attempt in range(20):
        await host.send("chat", text=f"after {attempt}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                received = await guest.receive_type("chat")
                break
    assert received is not None and str(received["text"]).startswith("after")
