"""Typed keys for state on the app and on requests (no module globals, no string keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from telehealth.calendar_changes import CalendarChanges
from telehealth.config import Settings
from telehealth.db_failures import OutageLog

if TYPE_CHECKING:
    from telehealth.http.metrics import Metrics
    from telehealth.http.sessions import CurrentSession, SessionResolver
    from telehealth.http.templates import Templates
    from telehealth.unit_of_work import Services

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SERVICES: web.AppKey[Services] = web.AppKey("services")
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
# Registered by the accounts feature: how the auth middleware turns a token into a session.
SESSION_RESOLVER: web.AppKey[SessionResolver] = web.AppKey("session_resolver")
# One log line per database outage, not one traceback per request that met it.
OUTAGES = web.AppKey("outages", OutageLog)
# Open agendas listen here for their calendars' changes.
CALENDAR_CHANGES = web.AppKey("calendar_changes", CalendarChanges)

REQUEST_ID = web.RequestKey("request_id", str)
CLIENT_IP = web.RequestKey("client_ip", str)
CURRENT_SESSION: web.RequestKey[CurrentSession | None] = web.RequestKey("current_session")
# The credentials the request presented: ("bearer" | "cookie", token), or None.
CREDENTIALS: web.RequestKey[tuple[str, str] | None] = web.RequestKey("credentials")
# How the request authenticated: "cookie" needs CSRF protection, "bearer" does not.
AUTH_METHOD = web.RequestKey("auth_method", str)
# Double-submit token for forms posted before sign-in (login, registration).
ANONYMOUS_CSRF = web.RequestKey("anonymous_csrf", str)
