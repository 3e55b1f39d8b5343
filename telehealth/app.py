"""create_app(settings): wiring only. Keys, resources, middlewares, routes, templates."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from aiohttp import web

from telehealth.accounts import api as accounts_api
from telehealth.accounts import pages as accounts_pages
from telehealth.accounts import reset_pages as password_reset_pages
from telehealth.accounts import sessions as accounts_sessions
from telehealth.admin import pages as admin_pages
from telehealth.audit import api as audit_api
from telehealth.audit.sealer import AuditSealer
from telehealth.calendar_changes import CalendarChanges, calendar_changes_for
from telehealth.care import pages as care_pages
from telehealth.care.booking import note_rules_for, plan_rules_for
from telehealth.catalog import store as catalog_store
from telehealth.catalog.store import CATALOG
from telehealth.clock import Clock, SystemClock
from telehealth.config import Settings
from telehealth.db import create_engine, create_session_factory
from telehealth.db_failures import OutageLog
from telehealth.health import views as health
from telehealth.home import pages as home_pages
from telehealth.home_program import pages as home_program_pages
from telehealth.http.api import Api
from telehealth.http.auth import auth_middleware
from telehealth.http.context import request_context_middleware
from telehealth.http.errors import error_middleware
from telehealth.http.keys import (
    CALENDAR_CHANGES,
    ENGINE,
    METRICS,
    OUTAGES,
    SERVICES,
    SETTINGS,
    TEMPLATES,
)
from telehealth.http.metrics import Metrics, metrics_middleware, metrics_view
from telehealth.http.security_headers import security_headers_middleware
from telehealth.http.templates import Templates
from telehealth.intake import pages as intake_pages
from telehealth.interop import api as interop_api
from telehealth.measures import pages as measures_pages
from telehealth.notes import api as notes_api
from telehealth.notes import pages as notes_pages
from telehealth.notifications.dispatcher import DISPATCHER, Dispatcher
from telehealth.passwords import Passwords
from telehealth.resources import web_dir
from telehealth.scheduling import api as scheduling_api
from telehealth.scheduling import pages as scheduling_pages
from telehealth.scheduling import series_pages as scheduling_series_pages
from telehealth.scheduling import settings_pages as scheduling_settings_pages
from telehealth.scheduling.tasks import scheduling_background
from telehealth.shutdown import close_within
from telehealth.unit_of_work import Services
from telehealth.visits import api as visits_api
from telehealth.visits import pages as visits_pages
from telehealth.visits.signaling_setup import setup_visit_signaling


def build_api() -> Api:
    """Every feature's API operations, in one OpenAPI document."""
    api = Api()
    for feature in (
        accounts_api.api,
        audit_api.api,
        notes_api.api,
        interop_api.api,
        visits_api.api,
        scheduling_api.api,
    ):
        api.include(feature)
    return api


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the application; resources open and close with it (cleanup_ctx)."""
    settings = settings.with_secret()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # Order matters, outermost first:
        middlewares=[
            request_context_middleware,  # request id + client address, for everything below
            metrics_middleware,  # counts and logs the final status, errors included
            security_headers_middleware,  # headers on every answer, error pages included
            error_middleware,  # domain and HTTP errors -> JSON shape or page
            auth_middleware,  # session/bearer + CSRF; may raise errors handled above
        ],
    )
    app[SETTINGS] = settings
    app[TEMPLATES] = Templates(settings)
    visits_pages.setup_templates(app)
    app[METRICS] = Metrics()
    app[OUTAGES] = OutageLog()
    accounts_sessions.setup(app)  # the session lookup auth_middleware calls
    clock = clock or SystemClock()
    changes = app[CALENDAR_CHANGES] = calendar_changes_for(settings)
    app.cleanup_ctx.append(_calendar_changes)
    # Before the server waits for its handlers to finish: open agenda streams end at once.
    app.on_shutdown.append(_end_agenda_streams)
    app.cleanup_ctx.append(_database(clock, changes))
    app.cleanup_ctx.append(scheduling_background)  # after _database: it needs SERVICES
    setup_visit_signaling(app, settings, clock, app[METRICS].signaling)
    catalog_store.setup(app)

    health.setup_routes(app)
    app.router.add_get("/metrics", metrics_view)
    build_api().setup(app)
    home_pages.setup_routes(app)
    accounts_pages.setup_routes(app)
    password_reset_pages.setup_routes(app)
    admin_pages.setup_routes(app)
    scheduling_api.setup_routes(app)
    scheduling_pages.setup_routes(app)
    scheduling_settings_pages.setup_routes(app)
    scheduling_series_pages.setup_routes(app)
    visits_pages.setup_routes(app)
    notes_pages.setup_routes(app)
    intake_pages.setup_routes(app)
    care_pages.setup_routes(app)
    measures_pages.setup(app)
    home_program_pages.setup_routes(app)
    app.router.add_static("/static", web_dir() / "static", append_version=False)
    return app


async def freeze_startup_objects(_app: web.Application) -> None:
    """Leave what start-up built out of every later garbage collection (an on_startup hook).

    Modules, routes, ORM mappers, schemas and templates live as long as the process; a full
    collection walks all of them (about 180,000 objects, 100 ms on a 2-core machine) every few
    hundred requests, which is a slot search's p95. Frozen, they are skipped; whatever requests
    leave behind is still collected. Registered by ``telehealth serve``, not by ``create_app``:
    a test process builds many apps, and each freeze would keep the previous ones' cycles.
    """
    gc.collect()
    gc.freeze()


async def _calendar_changes(app: web.Application) -> AsyncIterator[None]:
    async with app[CALENDAR_CHANGES].running():
        yield


async def _end_agenda_streams(app: web.Application) -> None:
    app[CALENDAR_CHANGES].close()


def _database(
    clock: Clock, changes: CalendarChanges
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        engine = create_engine(settings)
        app[ENGINE] = engine
        sessions = create_session_factory(engine, settings.db_pool_timeout)
        sealer = AuditSealer(sessions, settings, clock)
        services = Services(
            settings=settings,
            clock=clock,
            sessions=sessions,
            passwords=Passwords(settings),
            audit_recorded=sealer.wake,
            calendars_changed=changes.announce,
            # Scheduling asks the plan of care whether a within-plan visit fits it.
            plan_rules=plan_rules_for(settings),
            # Notes ask it whether a daily note may be signed before a progress report.
            note_rules=note_rules_for(settings, lambda: app[CATALOG]),
        )
        dispatcher = Dispatcher(services)
        app[DISPATCHER] = dispatcher
        app[SERVICES] = replace(services, messages_queued=dispatcher.wake)
        try:
            # The dispatcher stops first: its last records are audited, which the sealer links.
            async with sealer.running(), dispatcher.running():
                yield
        finally:
            await close_within("closing the database pool", engine.dispose())

    return database
