"""Echo peers for the pre-call network test: the far end of a real WebRTC connection.

Each costs CPU (aiortc relays the video back), so they are capped: one per person, a few in all,
each closed after TEST_LIFETIME seconds whatever the browser does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection

from signaling.client.echo import answer_with_echo
from telehealth.errors import InvalidInput, TooManyRequests

log = logging.getLogger(__name__)
TEST_LIFETIME = 45.0
MAX_ACTIVE = 8


class NetworkTests:
    """The running echo peers, by person."""

    def __init__(self, max_active: int = MAX_ACTIVE, lifetime: float = TEST_LIFETIME) -> None:
        self._max_active = max_active
        self._lifetime = lifetime
        self._active: dict[uuid.UUID, tuple[RTCPeerConnection, asyncio.Task[None]]] = {}

    @property
    def active(self) -> int:
        """How many tests are running."""
        return len(self._active)

    async def answer(self, person: uuid.UUID, offer_sdp: str) -> str:
        """Answer a browser's offer with an echo peer; returns the answer SDP."""
        await self._stop(person)  # a new test from the same person replaces the old one
        if len(self._active) >= self._max_active:
            raise TooManyRequests(
                "Many connection tests are running; please try again shortly.", retry_after=10
            )
        try:
            pc = await answer_with_echo(offer_sdp, RTCConfiguration(iceServers=[]))
        except Exception as exc:  # aiortc raises several kinds on a malformed offer
            raise InvalidInput(
                "That is not a usable WebRTC offer.",
                details={"field": "sdp", "problem": type(exc).__name__},
            ) from None
        timer = asyncio.create_task(self._expire(person, pc))
        self._active[person] = (pc, timer)
        return str(pc.localDescription.sdp)

    async def _expire(self, person: uuid.UUID, pc: RTCPeerConnection) -> None:
        await asyncio.sleep(self._lifetime)
        current = self._active.get(person)
        if current is not None and current[0] is pc:
            del self._active[person]
        await pc.close()

    async def _stop(self, person: uuid.UUID) -> None:
        current = self._active.pop(person, None)
        if current is not None:
            pc, timer = current
            timer.cancel()
            await pc.close()

    async def close(self) -> None:
        """Stop every test (shutdown)."""
        for person in list(self._active):
            with contextlib.suppress(Exception):
                await self._stop(person)


NETWORK_TESTS = web.AppKey("network_tests", NetworkTests)


async def network_tests_context(app: web.Application) -> AsyncIterator[None]:
    """Own the echo peers for the life of the app."""
    tests = NetworkTests()
    app[NETWORK_TESTS] = tests
    try:
        yield
    finally:
        await tests.close()
