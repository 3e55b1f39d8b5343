"""Slow consumers and the protocol's edges, on both buses: a client that stops reading is closed
with 4008 and its resume brings every frame it missed, in order; a frame of exactly the size
limit passes and one byte more closes 1009; seq gaps and relays to oneself are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from signaling import CloseCode, ErrorCode, Limits, Stats
from signaling.client import ChannelClosed
from signaling.redis_bus import RedisBus
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import ORIGIN, TicketBook, admitted_pair, closed_with

SDP_CHARS = 59_000  # a large offer, as a browser with many codecs and candidates sends
QUEUE = 200_000  # three such offers fit unacknowledged, a fourth does not
LIMITS = Limits(send_queue_bytes=QUEUE, resume_buffer_bytes=1024 * 1024)


@pytest.fixture(params=["in-process", "redis"])
def bus_server(request: pytest.FixtureRequest) -> Callable[..., Awaitable[str]]:
    """Start a server on the bus the parameter names."""
    make_bus: Callable[..., Awaitable[RedisBus]] | None = None
    if request.param == "redis":
        make_bus = request.getfixturevalue("redis_buses")
    # After the buses, so the servers stop before the Redis clients close.
    start_server: ServerFactory = request.getfixturevalue("start_server")

    async def start(**overrides: Any) -> str:
        if make_bus is not None:
            # The buffer the application would size from the same limits.
            buffer = overrides.get("limits", Limits()).resume_buffer_bytes
            overrides["bus"] = await make_bus(buffer_bytes=buffer)
        return await start_server(**overrides)

    return start


def offer(n: int) -> str:
    """The n-th big offer, numbered at its start."""
    head = f"v=0 n={n:03d}\r\n"
    return head + "a" * (SDP_CHARS - len(head))


async def test_a_slow_consumer_is_closed_with_4008_and_its_resume_misses_nothing(
    http: aiohttp.ClientSession, bus_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    stats = Stats()
    url = await bus_server(limits=LIMITS, stats=stats)
    host, guest = await admitted_pair(http, url, tickets)
    guest_pid = guest.welcome.participant  # type: ignore[union-attr]
    # The guest stops reading (and so acknowledging); the host sends ten offers.
    for n in range(10):
        await host.send("offer", to=guest_pid, sdp=offer(n))
    await host.send("chat", text="sent")
    await host.receive_type("chat")  # every offer has been relayed
    received: list[str] = []
    with pytest.raises(ChannelClosed) as closed:
        while True:
            frame = await guest.receive()
            if frame["type"] == "offer":
                received.append(frame["sdp"])
    assert closed.value.code == CloseCode.SLOW_CONSUMER
    # Three offers fit in the 200,000 unacknowledged bytes; the fourth closed the socket.
    assert received == [offer(n) for n in range(3)]
    resumed = await guest.resume()
    assert resumed["type"] == "resumed"
    assert resumed["limits"]["unacked_bytes"] == QUEUE
    while len(received) < 10:
        frame = await guest.receive()
        if frame["type"] == "offer":
            received.append(frame["sdp"])
    assert received == [offer(n) for n in range(10)]
    assert stats.resumes == {"resumed": 1}
    assert stats.closes.get(CloseCode.SLOW_CONSUMER) == 1
    await guest.send("chat", text="caught up")
    assert (await host.receive_type("chat"))["text"] == "caught up"
    await host.close()
    await guest.close()


async def test_a_frame_of_exactly_the_limit_passes_and_one_byte_more_closes_1009(
    http: aiohttp.ClientSession, bus_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await bus_server(limits=Limits(max_message_bytes=64 * 1024))
    host, guest = await admitted_pair(http, url, tickets)

    def chat(size: int, seq: int) -> str:
        head = f'{{"type":"chat","seq":{seq},"text":"'
        room = size - len(head.encode()) - 2
        text = "é" * (room // 2) + "x" * (room % 2)  # é: two bytes in UTF-8, one character
        raw = head + text + '"}'
        assert len(raw.encode()) == size  # bytes on the wire, not characters
        return raw

    # Chat text is capped at 4,000 characters, so the frame itself is refused politely; the
    # socket stays open because the frame was within the size limit.
    await host.send_raw(chat(64 * 1024, 2))
    await host.send("chat", text="still here")  # seq 2 again: the refused one was not used
    assert (await guest.receive_type("chat"))["text"] == "still here"
    assert (await host.receive_type("chat"))["text"] == "still here"  # errors come before it
    assert [e["code"] for e in host.errors] == [ErrorCode.BAD_MESSAGE]
    await host.send_raw(chat(64 * 1024 + 1, 3))
    assert await closed_with(host) == CloseCode.TOO_BIG
    await guest.close()


async def test_a_seq_gap_is_refused_and_the_frame_can_be_sent_again(
    http: aiohttp.ClientSession, bus_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await bus_server()
    host, guest = await admitted_pair(http, url, tickets)
    # The host has used seqs 1 (join) and 2 (admit); 4 skips one.
    await host.send_raw('{"type":"chat","seq":4,"text":"too early"}')
    await host.send_raw('{"type":"chat","seq":3,"text":"in order"}')
    await host.send_raw('{"type":"chat","seq":4,"text":"then this"}')
    assert (await guest.receive_type("chat"))["text"] == "in order"
    assert (await guest.receive_type("chat"))["text"] == "then this"
    assert host.errors == []  # errors are read on receive: read up to the host's own chats
    await host.receive_type("chat")
    await host.receive_type("chat")
    [gap] = host.errors
    assert (gap["code"], gap["ref"], gap["expected"]) == (ErrorCode.SEQ_GAP, 4, 3)
    await host.close()
    await guest.close()


async def test_a_relay_to_oneself_is_refused_and_uses_its_seq(
    http: aiohttp.ClientSession, bus_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await bus_server()
    host, guest = await admitted_pair(http, url, tickets)
    me = guest.welcome.participant  # type: ignore[union-attr]
    seq = await guest.send("offer", to=me, sdp="v=0")
    await guest.send("chat", text="after")
    assert (await host.receive_type("chat"))["text"] == "after"
    await guest.receive_type("chat")
    assert [(e["code"], e["ref"]) for e in guest.errors] == [(ErrorCode.SELF_RELAY, seq)]
    await host.close()
    await guest.close()


async def test_welcome_states_the_limits(
    http: aiohttp.ClientSession, bus_server: Callable[..., Awaitable[str]], tickets: TicketBook
) -> None:
    url = await bus_server(limits=LIMITS)
    ws = await http.ws_connect(url, origin=ORIGIN)
    await ws.send_json({"v": 1, "type": "hello", "ticket": tickets.issue("v", "p")})
    welcome = await ws.receive_json()
    assert welcome["limits"] == {
        "max_frame_bytes": 64 * 1024,
        "unacked_bytes": QUEUE,
        "resume_buffer_bytes": 1024 * 1024,
        "rate_per_second": LIMITS.rate_per_second,
        "rate_burst": LIMITS.rate_burst,
        "max_participants": LIMITS.max_participants,
    }
    await ws.close()


def test_limits_that_break_the_resume_guarantee_are_refused() -> None:
    with pytest.raises(ValueError, match="resume_buffer_bytes"):
        Limits(send_queue_bytes=500_000, resume_buffer_bytes=500_000)
    assert Limits().resume_buffer_bytes >= Limits().min_resume_buffer_bytes
