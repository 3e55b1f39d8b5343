"""Per-connection rate limit and per-room size, on both buses: the in-process bus handles relays
on the socket's read callback, the Redis bus through the connection's task, and the limits must
hold the same on both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from signaling import CloseCode, Limits, Role
from signaling.client import ChannelClosed, SignalingChannel
from signaling.redis_bus import RedisBus
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import (
    ORIGIN,
    TicketBook,
    admitted_pair,
    closed_with,
    connect,
)

BURST = 12
MAX_VIOLATIONS = 3
# A refill too slow to matter while a test runs: the burst is the budget.
LIMITS = Limits(rate_per_second=0.01, rate_burst=BURST, max_rate_violations=MAX_VIOLATIONS)


@pytest.fixture(params=["in-process", "redis"])
def limited_server(
    request: pytest.FixtureRequest, start_server: ServerFactory
) -> Callable[..., Awaitable[str]]:
    """Start servers with the test's limits, on the bus the parameter names."""
    make_bus: Callable[[], Awaitable[RedisBus]] | None = None
    if request.param == "redis":
        make_bus = request.getfixturevalue("redis_buses")

    async def start(**limits: Any) -> str:
        overrides: dict[str, Any] = {"limits": Limits(**{**_fields(LIMITS), **limits})}
        if make_bus is not None:
            overrides["bus"] = await make_bus()
        return await start_server(**overrides)

    return start


def _fields(limits: Limits) -> dict[str, Any]:
    return {name: getattr(limits, name) for name in limits.__dataclass_fields__}


async def test_a_flood_is_refused_then_closed_with_1008_and_others_carry_on(
    http: aiohttp.ClientSession, limited_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await limited_server()
    flooder = await connect(http, url, tickets.issue("flood", "flooder", Role.HOST))
    await flooder.send("join")
    await flooder.receive_type("admitted")
    host, guest = await admitted_pair(http, url, tickets, room="calm")  # a visit next door

    # The flooder has BURST - 2 tokens left after its join and its ack of `admitted`. Each
    # accepted candidate to nobody is answered unknown_participant; each refused one
    # rate_limited; one refusal more than MAX_VIOLATIONS closes the socket, and what follows is
    # not answered at all.
    accepted = BURST - 2
    candidate = {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"}
    for _ in range(accepted + MAX_VIOLATIONS + 1 + 5):
        await flooder.send("candidate", to="nobody", candidate=candidate)
    assert await closed_with(flooder) == CloseCode.POLICY
    codes = [error["code"] for error in flooder.errors]
    assert codes == ["unknown_participant"] * accepted + ["rate_limited"] * MAX_VIOLATIONS

    await guest.send("offer", to=host.welcome.participant, sdp="v=0")  # type: ignore[union-attr]
    offer = await host.receive_type("offer")
    assert offer["sdp"] == "v=0"
    assert host.errors == [] and guest.errors == []
    for channel in (flooder, host, guest):
        await channel.close()


async def test_a_full_room_refuses_one_more_with_4009(
    http: aiohttp.ClientSession, limited_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await limited_server(max_participants=2, rate_burst=200)
    host, guest = await admitted_pair(http, url, tickets)
    third = SignalingChannel(http, url, ORIGIN)
    with pytest.raises(ChannelClosed) as refused:
        await third.hello(tickets.issue("v", "relative"))
    assert refused.value.code == CloseCode.ROOM_FULL
    assert [error["code"] for error in third.errors] == ["room_full"]
    await third.close()
    await host.send("chat", text="welcome")  # the two inside are unaffected
    assert (await guest.receive_type("chat"))["text"] == "welcome"
    await host.close()
    await guest.close()
