"""Scheduling pages: booking, the patient's visits, the therapist's agenda and hours, the admin calendar."""

from __future__ import annotations

from aiohttp import web


def setup_routes(app: web.Application) -> None:
    """Add the scheduling pages."""
