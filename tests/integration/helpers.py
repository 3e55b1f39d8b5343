"""Small helpers shared by the integration tests: error shape, CSRF, raw SQL, sealing, sign-in."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.audit import trail
from telehealth.audit.sealer import AuditSealer
from telehealth.unit_of_work import Services
from tests.conftest import Person


async def assert_error_shape(
    response: ClientResponse, status: int | None = None, code: str | None = None
) -> dict[str, Any]:
    """The project's one JSON error shape; returns the inner error."""
    body = await response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "details", "request_id"} <= set(error), error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    if status is not None:
        assert response.status == status, body
    if code is not None:
        assert error["code"] == code, body
    return dict(error)


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from_page(client: TestClient, path: str) -> str:
    """GET a page and return the CSRF token embedded in its form."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    match = _CSRF_FIELD.search(await page.text())
    assert match is not None, f"no csrf_token field on {path}"
    return match.group(1)


async def execute_sql(database_url: str, *statements: str) -> None:
    """Run raw statements in one transaction on a separate connection (as an intruder would)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def scalar_sql(services: Services, statement: str) -> Any:
    """One value from the app's own database."""
    async with services.sessions() as session:
        return await session.scalar(text(statement))


async def seal_all(services: Services, checkpoint_file: Path | None = None) -> None:
    """Link every committed event, then sign a checkpoint at the head into `checkpoint_file`.

    PostgreSQL links an event once no older transaction anywhere on the server is still open,
    so on a busy server this may take a few passes.
    """
    settings = replace(
        services.settings, audit_checkpoint_rows=1, audit_checkpoint_file=checkpoint_file
    )
    sealer = AuditSealer(services.sessions, settings, services.clock)
    async with asyncio.timeout(60):
        while True:
            await sealer.seal_pending(wait=True)
            async with services.sessions() as session:
                if await trail.unsealed_count(session) == 0:
                    return
            await asyncio.sleep(0.05)


async def sign_in(client: TestClient, person: Person) -> None:
    """Sign in through the form, as a browser does."""
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={"email": person.email, "password": person.password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
