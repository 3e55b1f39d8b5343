"""The agenda's push channel: a stream that says "changed" when the calendar it shows changes, on
this instance and, through Redis, on every other; nobody else's calendar, nobody signed out."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from tests.conftest import People
from tests.integration.scheduling.support import book, make_clinic, set_hours, sign_in, utc
from tests.services import REDIS_URL, service_missing, tcp_reachable

TUESDAY_10 = utc(2026, 3, 3, 15)
# Long enough for any machine to deliver what was sent; a wait this long that ends empty is
# taken as "nothing was sent", which only an extremely slow machine could get wrong.
QUIET_SECONDS = 0.5


async def _next_event(stream: aiohttp.ClientResponse, seconds: float = 30.0) -> str:
    """The next event's name ("changed"), skipping comments and the retry hint."""
    async with asyncio.timeout(seconds):
        while True:
            line = (await stream.content.readline()).decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                return line.removeprefix("event: ").strip()


async def _quiet(stream: aiohttp.ClientResponse) -> bool:
    try:
        await _next_event(stream, QUIET_SECONDS)
    except TimeoutError:
        return True
    return False


async def _open(client: TestClient, headers: dict[str, str], **query: str) -> Any:
    stream = await client.get("/agenda/changes", headers=headers, params=query)
    assert stream.status == 200, await stream.text()
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert (await stream.content.readline()).decode() == "retry: 3000\n"
    return stream


async def test_a_booking_and_a_cancellation_reach_the_therapists_open_agenda(
    client: TestClient, services: Any, people: People
) -> None:
    c = await make_clinic(client, services, people)
    other = await people.make(Role.THERAPIST)
    await set_hours(services, other.user)
    other_h = await sign_in(client, other)
    own = await _open(client, c.therapist_h)
    everyone = await _open(client, c.admin_h)
    someone_else = await _open(client, other_h)
    chosen = await _open(client, c.admin_h, therapist_id=str(c.therapist.id))

    made = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert made.status == 201, await made.text()
    assert await _next_event(own) == "changed"
    assert await _next_event(everyone) == "changed"
    assert await _next_event(chosen) == "changed"
    assert await _quiet(someone_else), "another therapist's agenda heard of the booking"

    cancelled = await client.post(
        f"/api/v1/appointments/{(await made.json())['id']}/cancel",
        json={"reason": "feeling better"},
        headers=c.patient_h,
    )
    assert cancelled.status == 200, await cancelled.text()
    assert await _next_event(own) == "changed"
    # A refused change changes nothing, and says nothing.
    refused = await book(client, c.patient_h, utc(2026, 3, 3, 3), therapist_id=c.therapist.id)
    assert refused.status in (409, 422), await refused.text()
    assert await _quiet(own)
    for stream in (own, everyone, someone_else, chosen):
        stream.close()


async def test_only_staff_signed_in_may_listen(
    client: TestClient, services: Any, people: People
) -> None:
    c = await make_clinic(client, services, people)
    signed_out = await client.get("/agenda/changes", allow_redirects=False)
    assert signed_out.status in (302, 303)
    assert signed_out.headers["Location"].startswith("/login")
    refused = await client.get("/agenda/changes", headers=c.patient_h)
    assert refused.status in (403, 404), refused.status
    # A therapist cannot listen to another's calendar by naming it: the query is ignored.
    own = await _open(client, c.therapist_h, therapist_id=str(c.admin.id))
    made = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert made.status == 201
    assert await _next_event(own) == "changed"
    own.close()
    bad = await client.get(
        "/agenda/changes", headers=c.admin_h, params={"therapist_id": "not-an-id"}
    )
    assert bad.status == 404


async def test_an_agenda_open_on_one_instance_hears_a_booking_made_on_another(
    aiohttp_client: Any, settings: Settings, clock: ManualClock, people: People
) -> None:
    redis = urlsplit(REDIS_URL)
    if not tcp_reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        service_missing("Redis", f"nothing listens at {REDIS_URL}")
    # Two replicas of one deployment: the same database and Redis, a prefix of this test's own.
    prefix = f"agenda-test-{secrets.token_hex(6)}:"
    shared = replace(settings, redis_url=REDIS_URL, redis_prefix=prefix)
    first: TestClient = await aiohttp_client(create_app(shared, clock))
    second: TestClient = await aiohttp_client(create_app(shared, clock))
    c = await make_clinic(first, first.app[SERVICES], people)
    listening = await _open(second, await sign_in(second, c.therapist))
    # Each instance subscribes as it starts; a change published before then is not replayed (the
    # page reads the statuses again on every reconnect), so the test waits for both to listen.
    admin = Redis.from_url(REDIS_URL, decode_responses=True)
    channel = f"{prefix}calendar-changes"
    try:
        for _ in range(600):
            if dict(await admin.pubsub_numsub(channel)).get(channel, 0) >= 2:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the two instances never both listened")
    finally:
        await admin.aclose()
    made = await book(first, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert made.status == 201, await made.text()
    assert await _next_event(listening) == "changed"
    listening.close()
