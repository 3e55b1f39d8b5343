"""Note pages: the therapist's note editor, the patient's visit summary and exercises, the
treatment history and the clinic's techniques report."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import ValidationError

from telehealth.catalog.store import CATALOG
from telehealth.errors import InvalidInput
from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.notes import reports, service
from telehealth.notes.report_rules import bar_chart
from telehealth.notes.schemas import DateRangeQuery

DEFAULT_REPORT_DAYS = 30


async def note_editor_page(request: web.Request) -> web.StreamResponse:
    """The visit's note editor (its therapist only); the script loads and saves the note."""
    actor = require_actor(request)
    visit = await service.visit_for_editor(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return render(request, "notes/editor.html", {"visit": visit, "zone": actor.time_zone})


async def summary_page(request: web.Request) -> web.StreamResponse:
    """The patient's plain-language summary of a signed visit; printable."""
    actor = require_actor(request)
    view = await service.visit_summary(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "appointment_id"),
    )
    return render(request, "notes/summary.html", {"view": view, "zone": actor.time_zone})


async def exercises_page(request: web.Request) -> web.StreamResponse:
    """A patient's current home exercises and their signed visit summaries."""
    actor = require_actor(request)
    services, catalogs, caller = request.app[SERVICES], request.app[CATALOG], caller_of(request)
    exercises = await service.current_exercises(services, catalogs, caller)
    summaries = await service.visit_summaries(services, catalogs, caller)
    return render(
        request,
        "notes/exercises.html",
        {"exercises": exercises, "summaries": summaries, "zone": actor.time_zone},
    )


async def history_page(request: web.Request) -> web.StreamResponse:
    """A patient's treatment history from signed notes."""
    actor = require_actor(request)
    history = await reports.treatment_history(
        request.app[SERVICES],
        request.app[CATALOG],
        caller_of(request),
        path_uuid(request, "patient_id"),
    )
    return render(request, "notes/history.html", {"history": history, "zone": actor.time_zone})


async def technique_report_page(request: web.Request) -> web.StreamResponse:
    """Techniques by condition with a server-drawn bar chart and a CSV download (admins)."""
    services = request.app[SERVICES]
    today = services.clock.now().date()
    raw = {
        "start": request.query.get("start") or (today - timedelta(days=DEFAULT_REPORT_DAYS)),
        "end": request.query.get("end") or today,
    }
    try:
        query = DateRangeQuery.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(
            "Please choose a valid date range.",
            details=[{"field": ".".join(map(str, e["loc"])) or "range"} for e in exc.errors()],
        ) from None
    report = await reports.technique_report(
        services, request.app[CATALOG], caller_of(request), query.start, query.end
    )
    return render(
        request,
        "notes/report.html",
        {"report": report, "chart": bar_chart(report.rows)},
    )


def setup_routes(app: web.Application) -> None:
    """Add the note pages."""
    app.router.add_get("/visits/{appointment_id}/note", note_editor_page)
    app.router.add_get("/visits/{appointment_id}/summary", summary_page)
    app.router.add_get("/my/exercises", exercises_page)
    app.router.add_get("/patients/{patient_id}/history", history_page)
    app.router.add_get("/admin/reports/techniques", technique_report_page)
