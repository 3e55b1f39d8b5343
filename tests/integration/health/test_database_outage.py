"""A database that hangs, stops or stays locked: 503 database_unavailable, nothing late, recovery.

Freezing and stopping need a PostgreSQL server of the test's own (tests.services.private_postgres):
the shared one serves everybody else. The timeouts are short so that the answers come quickly;
every client call has a generous timeout of its own only so that a hang fails the test instead of
stalling the run.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from telehealth.accounts.models import Role
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.migrate import upgrade
from telehealth.scheduling.locks import calendar_key
from telehealth.unit_of_work import Services
from tests.conftest import T0, People, _truncate, base_settings
from tests.integration.scheduling.support import iso, quick_user, set_hours, sign_in, utc
from tests.services import PrivatePostgres, private_postgres

# Long enough for any answer the service owes (the timeouts below add up to a few seconds).
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60)
START = utc(2026, 3, 3, 15)  # Tuesday 10:00 in New York, inside the working hours


def _settings(tmp_path: Path, url: str) -> Settings:
    return base_settings(
        tmp_path,
        url,
        session_idle=timedelta(days=1),
        db_pool_timeout=1.0,
        db_connect_timeout=1.0,
        db_statement_timeout=2.0,
    )


@asynccontextmanager
async def _serving(aiohttp_client: Any, settings: Settings) -> AsyncIterator[TestClient]:
    await asyncio.to_thread(upgrade, settings)
    app: web.Application = create_app(settings, ManualClock(T0))
    client: TestClient = await aiohttp_client(app)
    yield client


async def _clinic(client: TestClient) -> tuple[dict[str, str], uuid.UUID, uuid.UUID]:
    services: Services = client.app[SERVICES]
    admin_h = await sign_in(client, await People(services).make(Role.ADMIN))
    therapist = await quick_user(services, Role.THERAPIST)
    patient = await quick_user(services, Role.PATIENT)
    await set_hours(services, therapist)
    return admin_h, therapist.id, patient.id


def _booking(therapist: uuid.UUID, patient: uuid.UUID) -> dict[str, str]:
    return {
        "type": "follow_up",
        "modality": "virtual",
        "start": iso(START),
        "therapist_id": str(therapist),
        "patient_id": str(patient),
    }


async def _answer(response: aiohttp.ClientResponse) -> tuple[int, Any, str | None]:
    body = await response.json()
    return response.status, body, response.headers.get("Retry-After")


def _is_unavailable(answer: tuple[int, Any, str | None]) -> bool:
    status, body, retry_after = answer
    return (
        status == 503
        and body["error"]["code"] == "database_unavailable"
        and retry_after is not None
        and int(retry_after) > 0
    )


async def _count(conn: AsyncConnection, sql: str) -> int:
    return int((await conn.execute(text(sql))).scalar_one())


async def _until_ready(client: TestClient) -> None:
    # The first requests after a restart may still meet connections of the old server.
    for _ in range(50):
        response = await client.get("/readyz", timeout=CLIENT_TIMEOUT)
        if response.status == 200:
            return
        await asyncio.sleep(0.2)
    pytest.fail("the service did not become ready again")


@pytest.fixture
def server() -> Any:
    """A private PostgreSQL server for one test."""
    with private_postgres() as pg:
        yield pg


async def test_a_frozen_database_answers_503_and_commits_nothing_late(
    aiohttp_client: Any, tmp_path: Path, server: PrivatePostgres
) -> None:
    async with _serving(aiohttp_client, _settings(tmp_path, server.url)) as client:
        admin_h, therapist, patient = await _clinic(client)
        observer = create_async_engine(server.url, isolation_level="AUTOCOMMIT")
        holder = create_async_engine(server.url)
        try:
            async with holder.connect() as hold, observer.connect() as watch:
                # Hold the therapist's calendar: the booking below waits inside its transaction.
                await hold.execute(
                    text("SELECT pg_advisory_xact_lock(7306, :key)"),
                    {"key": calendar_key(therapist)},
                )
                booking = asyncio.create_task(
                    client.post(
                        "/api/v1/appointments",
                        json=_booking(therapist, patient),
                        headers=admin_h,
                        timeout=CLIENT_TIMEOUT,
                    )
                )
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                for _ in range(500):
                    if await _count(watch, waiting):
                        break
                    await asyncio.sleep(0.01)
                else:
                    pytest.fail("the booking never reached the calendar lock")
                server.freeze()
                try:
                    assert _is_unavailable(await _answer(await booking))
                    me = await client.get("/api/v1/me", headers=admin_h, timeout=CLIENT_TIMEOUT)
                    assert _is_unavailable(await _answer(me))
                    ready = await client.get("/readyz", timeout=CLIENT_TIMEOUT)
                    assert ready.status == 503
                    assert (await ready.json())["status"] == "unavailable"
                finally:
                    server.thaw()
                await hold.rollback()
                # The booking's backend ends (its client hung up); only then is "nothing
                # committed" a fact rather than "not yet".
                lingering = (
                    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                    " AND (state LIKE 'idle in transaction%' OR wait_event = 'advisory')"
                )
                for _ in range(500):
                    if not await _count(watch, lingering):
                        break
                    await asyncio.sleep(0.02)
                else:
                    pytest.fail("a transaction of the frozen time is still open")
                assert await _count(watch, "SELECT count(*) FROM appointments") == 0
        finally:
            await holder.dispose()
            await observer.dispose()
        await _until_ready(client)
        await _books_again(client, admin_h, therapist, patient)


async def _books_again(
    client: TestClient, admin_h: dict[str, str], therapist: uuid.UUID, patient: uuid.UUID
) -> None:
    # Ready means one connection answers; on a busy machine the pool's next fresh connection can
    # still meet a server catching up after the thaw (1 s connect timeout here). Such an answer
    # must be the 503 of an outage, and the service must book within a few tries.
    for _ in range(20):
        again = await client.post(
            "/api/v1/appointments",
            json=_booking(therapist, patient),
            headers=admin_h,
            timeout=CLIENT_TIMEOUT,
        )
        if again.status == 201:
            return
        assert _is_unavailable(await _answer(again)), await again.text()
        await asyncio.sleep(0.25)
    pytest.fail("the service did not book again after the database came back")


async def test_a_stopped_database_answers_503_and_logs_once(
    aiohttp_client: Any,
    tmp_path: Path,
    server: PrivatePostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _serving(aiohttp_client, _settings(tmp_path, server.url)) as client:
        admin_h, therapist, patient = await _clinic(client)
        server.stop()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            answers = await asyncio.gather(
                *(
                    client.get("/api/v1/me", headers=admin_h, timeout=CLIENT_TIMEOUT)
                    for _ in range(10)
                ),
                *(
                    client.post(
                        "/api/v1/appointments",
                        json=_booking(therapist, patient),
                        headers=admin_h,
                        timeout=CLIENT_TIMEOUT,
                    )
                    for _ in range(10)
                ),
            )
            for response in answers:
                assert _is_unavailable(await _answer(response))
        outage_lines = [r for r in caplog.records if r.name == "telehealth.db_failures"]
        assert len(outage_lines) == 1, [r.getMessage() for r in outage_lines]
        assert "ConnectionRefusedError" in outage_lines[0].getMessage()
        assert [r for r in caplog.records if r.exc_info] == []
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        server.start()
        await _until_ready(client)
        me = await client.get("/api/v1/me", headers=admin_h, timeout=CLIENT_TIMEOUT)
        assert me.status == 200


async def test_a_statement_past_its_timeout_is_rolled_back(
    aiohttp_client: Any, tmp_path: Path, postgres_database: str
) -> None:
    await _truncate(postgres_database)
    async with _serving(aiohttp_client, _settings(tmp_path, postgres_database)) as client:
        admin_h, therapist, patient = await _clinic(client)
        holder = create_async_engine(postgres_database)
        try:
            async with holder.connect() as hold:
                await hold.execute(
                    text("SELECT pg_advisory_xact_lock(7306, :key)"),
                    {"key": calendar_key(therapist)},
                )
                # The booking waits for the calendar longer than its statement may take.
                answer = await client.post(
                    "/api/v1/appointments",
                    json=_booking(therapist, patient),
                    headers=admin_h,
                    timeout=CLIENT_TIMEOUT,
                )
                assert _is_unavailable(await _answer(answer))
                await hold.rollback()
                assert await _count(hold, "SELECT count(*) FROM appointments") == 0
        finally:
            await holder.dispose()
        again = await client.post(
            "/api/v1/appointments",
            json=_booking(therapist, patient),
            headers=admin_h,
            timeout=CLIENT_TIMEOUT,
        )
        assert again.status == 201, await again.text()


async def test_sqlite_locked_past_its_busy_timeout_answers_503(
    aiohttp_client: Any, tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "busy.db"
    await asyncio.to_thread(shutil.copyfile, sqlite_template, path)
    async with _serving(
        aiohttp_client, _settings(tmp_path, f"sqlite+aiosqlite:///{path}")
    ) as client:
        admin_h, therapist, patient = await _clinic(client)
        # Another writer holds the write lock longer than the busy timeout.
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            answer = await client.post(
                "/api/v1/appointments",
                json=_booking(therapist, patient),
                headers=admin_h,
                timeout=CLIENT_TIMEOUT,
            )
            assert _is_unavailable(await _answer(answer))
        finally:
            other.execute("ROLLBACK")
            other.close()
        again = await client.post(
            "/api/v1/appointments",
            json=_booking(therapist, patient),
            headers=admin_h,
            timeout=CLIENT_TIMEOUT,
        )
        assert again.status == 201, await again.text()
