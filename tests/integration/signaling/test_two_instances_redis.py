"""Two server processes' worth of apps sharing Redis: a visit and a resume across them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from signaling import Role
from signaling.redis_bus import RedisBus
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import TicketBook, connect
from tests.integration.signaling.test_visit_media import run_visit

# redis_buses comes first among the fixtures so it is torn down after the servers.
pytestmark = pytest.mark.redis


async def test_patient_on_one_instance_therapist_on_the_other(
    redis_buses: Callable[[], Awaitable[RedisBus]],
    http: aiohttp.ClientSession,
    start_server: ServerFactory,
    tickets: TicketBook,
) -> None:
    url_a = await start_server(bus=await redis_buses())
    url_b = await start_server(bus=await redis_buses())
    assert url_a != url_b
    therapist, patient = await run_visit(http, url_a, url_b, tickets, room="visit-redis")
    assert therapist.video_frames > 0 and patient.video_frames > 0


async def test_resume_lands_on_the_other_instance_without_loss_or_duplicates(
    redis_buses: Callable[[], Awaitable[RedisBus]],
    http: aiohttp.ClientSession,
    start_server: ServerFactory,
    tickets: TicketBook,
) -> None:
    url_a = await start_server(bus=await redis_buses())
    url_b = await start_server(bus=await redis_buses())
    host = await connect(http, url_a, tickets.issue("r", "therapist", Role.HOST))
    guest = await connect(http, url_a, tickets.issue("r", "patient"))
    await host.send("join")
    await host.receive_type("admitted")
    await guest.send("join")
    await guest.receive_type("waiting")
    lobby = await host.receive_type("lobby")
    while not lobby["waiting"]:
        lobby = await host.receive_type("lobby")
    await host.send("admit", participant=guest.welcome.participant)  # type: ignore[union-attr]
    await guest.receive_type("admitted")
    await host.send("chat", text="before")
    assert (await guest.receive_type("chat"))["text"] == "before"

    assert (await host.receive_type("presence"))["presence"] == "joined"
    await guest.drop()
    assert (await host.receive_type("presence"))["presence"] == "reconnecting"
    for n in range(5):
        await host.send("chat", text=f"while away {n}")
    for n in range(5):  # the host's own copies: its chats are all in the guest's buffer
        assert (await host.receive_type("chat"))["text"] == f"while away {n}"
    # Sent while the socket is gone: kept by the client and resent after the resume.
    await guest.send("chat", text="typed offline")

    # The load balancer sends the reconnect to the other instance.
    resumed = await guest.resume(url_b)
    assert resumed["type"] == "resumed"
    texts: list[str] = []
    while len(texts) < 6:
        texts.append((await guest.receive_type("chat"))["text"])
    assert texts == [f"while away {n}" for n in range(5)] + ["typed offline"]
    host_seen: list[object] = []
    while len(host_seen) < 2:
        frame = await host.receive_type("chat", "presence")
        if not str(frame.get("text", "")).startswith("while away"):
            host_seen.append(frame.get("text") or frame["presence"])
    assert sorted(host_seen, key=str) == sorted(["joined", "typed offline"], key=str)
    # Nothing more is pending: a marker arrives next, not a duplicate.
    await host.send("chat", text="marker")
    assert (await guest.receive_type("chat"))["text"] == "marker"
    await host.close()
    await guest.close()
