"""Who gets in, who is refused before any relay, and how the host runs the room."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from signaling import CloseCode, Role, Stats
from signaling.client import ChannelClosed, SignalingChannel, VisitPeer
from tests.integration.signaling.conftest import ServerFactory
from tests.integration.signaling.support import (
    ORIGIN,
    HandClock,
    Recorder,
    TicketBook,
    admitted_pair,
    closed_with,
    connect,
)


async def hello_rejected(http: aiohttp.ClientSession, url: str, ticket: str) -> int | None:
    channel = SignalingChannel(http, url, ORIGIN)
    try:
        with pytest.raises(ChannelClosed) as closed:
            await channel.hello(ticket)
    finally:
        await channel.close()
    return closed.value.code


async def test_foreign_origin_is_refused_before_upgrade(
    http: aiohttp.ClientSession, server_url: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(server_url, origin="https://evil.test")
    assert refused.value.status == 403


async def test_invalid_reused_expired_and_wrong_room_tickets_are_refused(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook, clock: HandClock
) -> None:
    assert await hello_rejected(http, server_url, "made-up") == CloseCode.UNAUTHORIZED
    ticket = tickets.issue("v", "patient")
    first = await connect(http, server_url, ticket)
    assert await hello_rejected(http, server_url, ticket) == CloseCode.UNAUTHORIZED
    await first.close()
    late = tickets.issue("v", "patient2", window=timedelta(minutes=5))
    clock.advance(301)
    assert await hello_rejected(http, server_url, late) == CloseCode.UNAUTHORIZED
    other_room = tickets.issue("other", "patient3")
    assert await hello_rejected(http, server_url + "/v", other_room) == CloseCode.UNAUTHORIZED
    good = await connect(http, server_url + "/v", tickets.issue("v", "patient4"))
    assert good.welcome is not None and good.welcome.room == "v"
    await good.close()


async def test_stranger_cannot_relay_into_a_room(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    stranger = await connect(http, server_url, tickets.issue("elsewhere", "stranger", Role.HOST))
    await stranger.send("join")
    await stranger.receive_type("admitted")
    target = host.welcome.participant  # type: ignore[union-attr]
    await stranger.send("offer", to=target, sdp="v=0")
    await stranger.send("chat", text="probe")
    await stranger.receive_type("chat")  # its own chat comes back: its earlier frame is done
    assert [e["code"] for e in stranger.errors] == ["unknown_participant"]
    await guest.send("chat", text="only for this room")
    frame = await host.receive_type("chat", "offer")
    assert frame["text"] == "only for this room"
    for channel in (host, guest, stranger):
        await channel.close()


async def test_waiting_room_admit_and_deny(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook, recorder: Recorder
) -> None:
    host = await connect(http, server_url, tickets.issue("v", "therapist", Role.HOST))
    await host.send("join")
    await host.receive_type("admitted")
    guest = await connect(http, server_url, tickets.issue("v", "patient"))
    await guest.send("join")
    await guest.receive_type("waiting")
    # A waiting guest cannot signal anyone yet.
    await guest.send("offer", to=host.welcome.participant, sdp="v=0")  # type: ignore[union-attr]
    lobby = await host.receive_type("lobby")
    while not lobby["waiting"]:
        lobby = await host.receive_type("lobby")
    assert lobby["waiting"][0]["display_name"] == "Patient"
    # Guests cannot admit.
    await guest.send("admit", participant=guest.welcome.participant)  # type: ignore[union-attr]
    intruder = await connect(http, server_url, tickets.issue("v", "intruder"))
    await intruder.send("join")
    await intruder.receive_type("waiting")
    await host.send("deny", participant=intruder.welcome.participant)  # type: ignore[union-attr]
    assert await closed_with(intruder) == CloseCode.DENIED
    await intruder.close()
    await host.send("admit", participant=guest.welcome.participant)  # type: ignore[union-attr]
    admitted = await guest.receive_type("admitted")
    assert [p["role"] for p in admitted["participants"]] == ["host"]
    assert {e["code"] for e in guest.errors} == {"not_admitted", "not_host"}
    assert ("deny", "v", "intruder") in recorder.calls
    assert ("admit", "v", "patient") in recorder.calls
    await host.close()
    await guest.close()


async def test_host_removes_and_ends(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook, recorder: Recorder
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    await host.send("remove", participant=guest.welcome.participant)  # type: ignore[union-attr]
    assert await closed_with(guest) == CloseCode.REMOVED
    presence = await host.receive_type("presence")
    while presence["presence"] != "left":
        presence = await host.receive_type("presence")
    second = await connect(http, server_url, tickets.issue("v", "companion"))
    await second.send("join")
    await second.receive_type("waiting")
    await host.send("end")
    assert await closed_with(second) == CloseCode.ENDED
    assert await closed_with(host) == CloseCode.ENDED
    # An ended visit takes nobody in, even with a fresh ticket.
    late = tickets.issue("v", "patient")
    assert await hello_rejected(http, server_url, late) == CloseCode.ENDED
    for channel in (host, guest, second):
        await channel.close()
    assert ("end", "v", "therapist") in recorder.calls
    assert ("leave", "v", "patient") in recorder.calls


async def test_second_tab_replaces_the_first(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    second_tab = await connect(http, server_url, tickets.issue("v", "patient"))
    assert second_tab.welcome.participant == guest.welcome.participant  # type: ignore[union-attr]
    assert await closed_with(guest) == CloseCode.REPLACED
    assert guest.close_reason == "replaced"
    await guest.close()
    await second_tab.send("join")
    await second_tab.receive_type("admitted")  # still admitted: no second trip to the lobby
    # The host hears of the new tab from its join: the same participant, joined once more
    # (the first `joined` was the admission).
    joined = 0
    while joined < 2:
        presence = await host.receive_type("presence")
        assert presence["participant"] == guest.welcome.participant  # type: ignore[union-attr]
        joined += presence["presence"] == "joined"
    await host.send("chat", text="hi again")
    assert (await second_tab.receive_type("chat"))["text"] == "hi again"
    await host.close()
    await second_tab.close()


async def test_resume_in_process_loses_and_duplicates_nothing(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    for n in range(3):
        await host.send("chat", text=f"a{n}")
    assert (await guest.receive_type("chat"))["text"] == "a0"
    await guest.drop()  # a1 and a2 were sent but never processed by the guest
    await host.send("chat", text="a3")
    await guest.send("chat", text="offline")
    await guest.resume()
    got = [(await guest.receive_type("chat"))["text"] for _ in range(4)]
    assert got == ["a1", "a2", "a3", "offline"]
    await host.send("chat", text="end-marker")
    assert (await guest.receive_type("chat"))["text"] == "end-marker"
    mine = []
    while "end-marker" not in mine:
        mine.append((await host.receive_type("chat"))["text"])
    assert mine.count("offline") == 1
    await host.close()
    await guest.close()


async def test_a_dropped_socket_reaches_the_server_without_a_close_frame(
    http: aiohttp.ClientSession, start_server: ServerFactory, tickets: TicketBook
) -> None:
    stats = Stats()
    url = await start_server(stats=stats)
    host, guest = await admitted_pair(http, url, tickets)
    await guest.drop()
    presence = await host.receive_type("presence")
    while presence["presence"] != "reconnecting":
        presence = await host.receive_type("presence")
    async with asyncio.timeout(5):
        while not stats.closes:  # noqa: ASYNC110 - counted by the server handler's end
            await asyncio.sleep(0.01)
    # 1006: the client's socket ended and no close frame came (a polite close is 1000).
    assert stats.closes == {1006: 1}
    await host.close()


async def test_resume_after_the_window_fails(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook, clock: HandClock
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    await guest.drop()
    # The drop is on the server's books once the host hears of it.
    presence = await host.receive_type("presence")
    while presence["presence"] != "reconnecting":
        presence = await host.receive_type("presence")
    clock.advance(31)
    with pytest.raises(ChannelClosed) as closed:
        await guest.resume()
    assert closed.value.code == CloseCode.RESUME_FAILED
    await guest.close()
    await host.close()


async def test_candidates_before_the_offer_are_not_lost(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    host, guest = await admitted_pair(http, server_url, tickets)
    patient = VisitPeer(guest, ice_servers=[])
    run = asyncio.create_task(patient.run())
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video")
        channel = pc.createDataChannel("visit")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        lines = sdp.splitlines()
        candidates = [ln[2:] for ln in lines if ln.startswith("a=candidate:")]
        assert candidates
        # Trickle: the offer without candidates, the candidates sent first.
        trickled = ("a=candidate:", "a=end-of-candidates")
        bare = "\r\n".join(ln for ln in lines if not ln.startswith(trickled)) + "\r\n"
        mid = next(ln[6:] for ln in lines if ln.startswith("a=mid:"))
        to = guest.welcome.participant  # type: ignore[union-attr]
        for text in candidates:
            cand = {"candidate": text, "sdpMid": mid, "sdpMLineIndex": 0}
            await host.send("candidate", to=to, candidate=cand)
        await host.send("offer", to=to, sdp=bare)
        answer = await host.receive_type("answer")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 30)
        channel.send("hello")
        assert await asyncio.wait_for(patient.messages.get(), 30) == "hello"
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await pc.close()
        await patient.close()
        await host.close()


async def test_waiting_room_chat_reaches_the_host_only(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook
) -> None:
    host = await connect(http, server_url, tickets.issue("v", "therapist", Role.HOST))
    await host.send("join")
    await host.receive_type("admitted")
    waiting = await connect(http, server_url, tickets.issue("v", "patient"))
    await waiting.send("join")
    await waiting.receive_type("waiting")
    other = await connect(http, server_url, tickets.issue("v", "companion"))
    await other.send("join")
    await other.receive_type("waiting")

    await waiting.send("chat", text="I'm here, running a bit slow")
    assert (await host.receive_type("chat"))["text"] == "I'm here, running a bit slow"
    assert (await waiting.receive_type("chat"))["text"] == "I'm here, running a bit slow"
    await host.send("chat", text="I'll be with you in two minutes")
    # The other waiting guest hears the host, and never the first guest's message.
    assert (await other.receive_type("chat"))["text"] == "I'll be with you in two minutes"
    assert (await waiting.receive_type("chat"))["text"] == "I'll be with you in two minutes"
    assert not waiting.errors
    for channel in (host, waiting, other):
        await channel.close()
