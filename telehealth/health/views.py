"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from telehealth.http.keys import ENGINE, SETTINGS


async def healthz(_: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers, within the connect timeout (a hung database is "not ready" in time)."""
    try:
        # Its own bound: a probe must answer before the orchestrator's probe gives up, whatever
        # the pool, connect and statement timeouts add up to.
        async with asyncio.timeout(request.app[SETTINGS].db_connect_timeout):
            async with request.app[ENGINE].connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", reported, never raised
        return web.json_response(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok"})


def setup_routes(app: web.Application) -> None:
    """Add the probes."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
