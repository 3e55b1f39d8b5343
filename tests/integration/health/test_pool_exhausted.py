"""No free database connection: 503 database_unavailable with Retry-After, and nothing written.

Every connection the app's own engine will hand out is checked out and held, until the pool itself
refuses one more; requests then wait DB_POOL_TIMEOUT_SECONDS for a connection and answer 503
instead of queueing for ever. Both engines pool their connections in a bounded queue (PostgreSQL
10 + 20 overflow, SQLite through aiosqlite 5 + 10), so the test runs on both.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from telehealth.accounts.models import Role
from telehealth.all_models import metadata
from telehealth.config import Settings
from telehealth.http.keys import ENGINE
from telehealth.unit_of_work import Services
from tests.conftest import PASSWORD, T0, People, base_settings
from tests.integration.helpers import assert_error_shape, seal_all
from tests.integration.scheduling.support import iso, quick_user, set_hours, sign_in

# Short, so the 503s come quickly; the connections are held for as long as the test says.
POOL_TIMEOUT = 0.5
# Far above either pool's size: a pool that never runs out fails the test instead of hanging it.
MORE_THAN_ANY_POOL = 200
# Generous, only so that a request that hangs fails the test instead of stalling the run.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60)
START = T0.replace(day=3, hour=15)  # Tuesday 10:00 in New York, inside the working hours


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app under test waits only briefly for a free connection."""
    return base_settings(tmp_path, database_url, db_pool_timeout=POOL_TIMEOUT)


@asynccontextmanager
async def _every_connection_held(engine: AsyncEngine) -> AsyncIterator[int]:
    """Check out connections until the pool has none left; yields how many are held."""
    held: list[AsyncConnection] = []
    try:
        for _ in range(MORE_THAN_ANY_POOL):
            try:
                held.append(await engine.connect())
            except PoolTimeout:
                break
        else:
            pytest.fail(f"the pool handed out {MORE_THAN_ANY_POOL} connections and more")
        yield len(held)
    finally:
        for connection in held:
            await connection.close()


async def _every_row(engine: AsyncEngine) -> dict[str, list[str]]:
    # The whole database, so that an update or delete would show as well as an insert.
    async with engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in await connection.execute(select(table)))
            for table in metadata.sorted_tables
        }


async def _assert_unavailable(response: ClientResponse) -> None:
    error = await assert_error_shape(response, 503, "database_unavailable")
    retry_after = int(response.headers["Retry-After"])
    assert retry_after > 0
    assert error["details"] == {"retry_after": retry_after}


def _booking(therapist: uuid.UUID, patient: uuid.UUID) -> dict[str, Any]:
    return {
        "type": "follow_up",
        "modality": "virtual",
        "start": iso(START),
        "therapist_id": str(therapist),
        "patient_id": str(patient),
    }


async def test_an_exhausted_pool_answers_503_and_writes_nothing(
    client: TestClient,
    services: Services,
    people: People,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = await people.make(Role.ADMIN)
    admin_h = await sign_in(client, admin)
    therapist = await quick_user(services, Role.THERAPIST)
    patient = await quick_user(services, Role.PATIENT)
    await set_hours(services, therapist)
    booking = _booking(therapist.id, patient.id)
    engine = client.app[ENGINE]
    # What was recorded so far is linked into the audit chain first, so the snapshot below holds
    # still (the sealer runs beside the requests).
    await seal_all(services)
    before = await _every_row(engine)

    caplog.clear()
    with caplog.at_level(logging.INFO):
        async with _every_connection_held(engine) as held:
            assert held >= engine.pool.size()
            # A write with a session, a write without one (sign-in counts the attempt) and a read.
            answers = await asyncio.gather(
                client.post(
                    "/api/v1/appointments", json=booking, headers=admin_h, timeout=CLIENT_TIMEOUT
                ),
                client.post(
                    "/api/v1/auth/login",
                    json={"email": admin.email, "password": PASSWORD},
                    timeout=CLIENT_TIMEOUT,
                ),
                client.get("/api/v1/me", headers=admin_h, timeout=CLIENT_TIMEOUT),
            )
            for response in answers:
                await _assert_unavailable(response)
    client.session.cookie_jar.clear()

    assert await _every_row(engine) == before
    # One line for the outage, naming its cause; no traceback, nothing logged as an error. On
    # SQLite the writers also take turns: the write that waits for the turn held by the one
    # waiting for a connection may give up first, and then the line names the busy database.
    outage_lines = [r.getMessage() for r in caplog.records if r.name == "telehealth.db_failures"]
    assert len(outage_lines) == 1, outage_lines
    assert "QueuePool limit" in outage_lines[0] or "busy right now" in outage_lines[0], outage_lines
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []

    # The connections are back: the very same booking is made.
    again = await client.post(
        "/api/v1/appointments", json=booking, headers=admin_h, timeout=CLIENT_TIMEOUT
    )
    assert again.status == 201, await again.text()
