"""Two real server processes sharing the database and Redis; the patient's process is killed
mid-visit (SIGKILL: no close frame, no clean-up) while aiortc media flows.

The therapist, on the surviving process, sees the patient `reconnecting` within 3 s (the issue's
figure; the test waits far longer, so a slow machine fails only the figure). The patient resumes
on the survivor and gets what was sent meanwhile; without a resume, `left` comes when the resume
window ends, after which relays to the patient and the patient's old resume id are refused.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCIceServer

from signaling.client import ChannelClosed, SignalingChannel, VisitPeer
from telehealth.app import create_app
from telehealth.clock import SystemClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from tests.conftest import TEST_SECRET, People
from tests.integration.visits.support import ORIGIN, pair, ticket_for, virtual_visit
from tests.services import REDIS_URL, free_port, service_missing, tcp_reachable

NO_ICE: list[RTCIceServer] = []
# Short enough for a quick test, long enough for detection and a resume to fit in it.
RESUME_WINDOW = 8.0
# The figure, from the kill to `reconnecting` at the therapist: printed beside the
# measurement (run with -s), never asserted, since a shared machine's timing is not behaviour.
DETECTION_FIGURE = 3.0
# What the test waits for anything at most: far above every figure.
PATIENCE = 60.0


@dataclass
class Instance:
    """A `telehealth serve` process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def signaling(self, room: object) -> str:
        """The visit's WebSocket URL on this instance."""
        return self.url.replace("http://", "ws://") + f"/signaling/v1/{room}"

    def stop(self) -> None:
        """Terminate (if still running) and reap."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "telehealth",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _start(settings: Settings, name: str) -> Instance:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        {
            "TELEHEALTH_ENV": "test",
            "TELEHEALTH_DATA_DIR": str(settings.data_dir),
            "TELEHEALTH_DATABASE_URL": settings.database_url,
            "TELEHEALTH_SECRET_KEY": TEST_SECRET,
            "TELEHEALTH_PUBLIC_URL": ORIGIN,
            "TELEHEALTH_REDIS_URL": REDIS_URL,
            "TELEHEALTH_REDIS_PREFIX": settings.redis_prefix,
            "TELEHEALTH_SIGNALING_RESUME_WINDOW_SECONDS": str(RESUME_WINDOW),
            "TELEHEALTH_LOG_FORMAT": "text",
            # INFO: the test reads "catalog loaded" (see below).
            "TELEHEALTH_LOG_LEVEL": "INFO",
        }
    )
    log_path = settings.data_dir / f"{name}.log"
    process = await asyncio.to_thread(_spawn, port, env, log_path)
    instance = Instance(f"http://127.0.0.1:{port}", process, log_path)
    # Each probe is bounded: a server that accepts and never answers must not hold the test.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log_path.read_text()[-2000:]}")
            try:
                async with http.get(instance.url + "/readyz") as response:
                    # Ready, and past the start-up load of the catalog: a worker thread that
                    # can starve the event loop (and its heartbeat) for a while on a busy
                    # machine, which is not what this test is about.
                    if response.status == 200 and "catalog loaded" in log_path.read_text():
                        return instance
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    instance.stop()
    raise RuntimeError(f"{name} did not become ready")


@pytest.fixture
async def instances(settings: Settings) -> AsyncIterator[tuple[Instance, Instance]]:
    """Two server processes on the test's database and the shared Redis."""
    redis = urlsplit(REDIS_URL)
    if not tcp_reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        service_missing("Redis", f"nothing listens at {REDIS_URL}")
    started = await asyncio.gather(
        _start(settings, "first"), _start(settings, "second"), return_exceptions=True
    )
    running = [s for s in started if isinstance(s, Instance)]
    try:
        failed = [s for s in started if isinstance(s, BaseException)]
        if failed:
            raise failed[0]
        yield running[0], running[1]
    finally:
        for instance in running:
            instance.stop()


@dataclass
class Visit:
    """A visit in progress: the patient on the first instance, the therapist on the second."""

    patient: VisitPeer
    therapist: VisitPeer
    runs: list[asyncio.Task[None]]

    @property
    def patient_pid(self) -> str:
        """The patient's participant id."""
        assert self.patient.channel.welcome is not None
        return self.patient.channel.welcome.participant


async def _until(predicate: Any) -> None:
    async with asyncio.timeout(PATIENCE):
        while not predicate():  # noqa: ASYNC110 - the peers append from their own tasks
            await asyncio.sleep(0.01)


def _presence(peer: VisitPeer, pid: str, presence: str, since: int = 0) -> bool:
    return any(
        e["type"] == "presence" and e["participant"] == pid and e["presence"] == presence
        for e in peer.events[since:]
    )


@pytest.fixture
async def visit(
    aiohttp_client: Any, settings: Settings, instances: tuple[Instance, Instance]
) -> AsyncIterator[Visit]:
    """Admitted, media and the data channel flowing both ways."""
    first, second = instances
    # This process only writes the test data and issues tickets (on the real clock, which the
    # server processes use too).
    app = create_app(settings, SystemClock())
    client: TestClient = await aiohttp_client(app)
    services = app[SERVICES]
    patient, therapist = await pair(People(services))
    room = await virtual_visit(
        services, patient, therapist, services.clock.now() + timedelta(minutes=5)
    )
    patient_ticket = await ticket_for(client, patient, room)
    therapist_ticket = await ticket_for(client, therapist, room, consent=False)

    async with aiohttp.ClientSession() as http:
        therapist_ch = SignalingChannel(http, second.signaling(room), ORIGIN)
        patient_ch = SignalingChannel(http, first.signaling(room), ORIGIN)
        await therapist_ch.hello(therapist_ticket)
        await patient_ch.hello(patient_ticket)
        therapist_peer = VisitPeer(therapist_ch, ice_servers=NO_ICE)
        patient_peer = VisitPeer(patient_ch, ice_servers=NO_ICE)
        runs = [asyncio.create_task(therapist_peer.run()), asyncio.create_task(patient_peer.run())]
        try:
            await _until(
                lambda: any(e["type"] == "lobby" and e["waiting"] for e in therapist_peer.events)
            )
            assert patient_ch.welcome is not None
            await therapist_ch.send("admit", participant=patient_ch.welcome.participant)
            await asyncio.wait_for(patient_peer.first_frame.wait(), PATIENCE)
            await asyncio.wait_for(therapist_peer.first_frame.wait(), PATIENCE)
            await asyncio.wait_for(patient_peer.channel_open.wait(), PATIENCE)
            assert therapist_peer.data is not None
            marker = secrets.token_hex(4)
            therapist_peer.data.send(marker)
            assert await asyncio.wait_for(patient_peer.messages.get(), PATIENCE) == marker
            yield Visit(patient_peer, therapist_peer, runs)
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            async with asyncio.timeout(PATIENCE):
                # Side by side: one peer that cannot close must not leave the other open.
                await asyncio.gather(therapist_peer.close(), patient_peer.close())


async def _kill_and_see_reconnecting(first: Instance, visit: Visit) -> tuple[float, int]:
    """SIGKILL the patient's instance; seconds until the therapist sees `reconnecting`, and
    how many frames the therapist had before the kill."""
    seen = len(visit.therapist.events)
    assert visit.patient.closed is None, "the patient's socket dropped before the kill"
    first.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.to_thread(first.process.wait)
    await _until(lambda: _presence(visit.therapist, visit.patient_pid, "reconnecting", seen))
    detected = time.monotonic() - killed
    print(f"reconnecting seen {detected:.2f} s after the SIGKILL (target {DETECTION_FIGURE} s)")
    return detected, seen


async def test_the_patient_resumes_on_the_survivor_with_nothing_lost(
    instances: tuple[Instance, Instance], visit: Visit
) -> None:
    first, second = instances
    frames_before = visit.patient.video_frames
    _, seen = await _kill_and_see_reconnecting(first, visit)
    therapist_ch = visit.therapist.channel
    await therapist_ch.send("chat", text="are you still there?")
    # Media never went through the server: it keeps flowing peer to peer.
    await _until(lambda: visit.patient.video_frames > frames_before + 10)
    assert visit.therapist.data is not None
    marker = secrets.token_hex(4)
    visit.therapist.data.send(marker)
    assert await asyncio.wait_for(visit.patient.messages.get(), PATIENCE) == marker

    # The patient's client, cut off, reconnects through the load balancer to the survivor.
    await asyncio.wait_for(visit.runs[1], PATIENCE)
    patient_ch = visit.patient.channel
    await patient_ch.send("chat", text="typed while cut off")
    resumed = await asyncio.wait_for(patient_ch.resume(second.signaling(_room(visit))), PATIENCE)
    assert resumed["type"] == "resumed"
    # The replay comes first: what the therapist sent meanwhile. Then, in whatever order, the
    # patient's own chat (resent by the client, every chat comes back to its sender) and the
    # therapist's client renegotiating with the returning peer, through the survivor.
    chats: list[str] = []
    offers: list[str] = []
    async with asyncio.timeout(PATIENCE):
        while len(chats) < 2 or not offers:
            frame = await patient_ch.receive_type("chat", "offer")
            if frame["type"] == "chat":
                chats.append(frame["text"])
            else:
                offers.append(frame["from"])
    assert chats == ["are you still there?", "typed while cut off"]
    assert offers[0] == _therapist_pid(visit)
    await _until(lambda: _presence(visit.therapist, visit.patient_pid, "joined", seen))
    await _until(
        lambda: any(
            e["type"] == "chat" and e["text"] == "typed while cut off"
            for e in visit.therapist.events
        )
    )
    assert not _presence(visit.therapist, visit.patient_pid, "left")


async def test_without_a_resume_the_patient_leaves_when_the_window_ends(
    instances: tuple[Instance, Instance], visit: Visit
) -> None:
    first, second = instances
    _, seen = await _kill_and_see_reconnecting(first, visit)
    away = time.monotonic()
    await _until(lambda: _presence(visit.therapist, visit.patient_pid, "left", seen))
    window = time.monotonic() - away
    print(f"left seen {window:.2f} s after reconnecting (resume window {RESUME_WINDOW} s)")
    assert window >= RESUME_WINDOW - 0.5

    # Nobody to relay to any more, on any instance.
    therapist_ch = visit.therapist.channel
    seq = await therapist_ch.send("offer", to=visit.patient_pid, sdp="v=0\r\n")
    await _until(lambda: any(e.get("ref") == seq for e in therapist_ch.errors))
    assert [e["code"] for e in therapist_ch.errors if e.get("ref") == seq] == [
        "unknown_participant"
    ]
    # And the old resume id is dead everywhere.
    await asyncio.wait_for(visit.runs[1], PATIENCE)
    with pytest.raises(ChannelClosed) as refused:
        await visit.patient.channel.resume(second.signaling(_room(visit)))
    assert refused.value.code == 4006


def _room(visit: Visit) -> str:
    """The visit's room id (the appointment), as the patient's welcome names it."""
    assert visit.patient.channel.welcome is not None
    return visit.patient.channel.welcome.room


def _therapist_pid(visit: Visit) -> str:
    assert visit.therapist.channel.welcome is not None
    return visit.therapist.channel.welcome.participant
