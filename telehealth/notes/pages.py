"""Note pages: the therapist's note editor, the patient's visit summary and exercises, the
treatment history and the clinic's techniques report."""

from __future__ import annotations

import json
from datetime import timedelta

from aiohttp import web
from pydantic import ValidationError

from telehealth.catalog.store import CATALOG
from telehealth.errors import Conflict, InvalidInput
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.context import caller_of, require_actor
from telehealth.http.forms import read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.notes import reports, service, templates
from telehealth.notes.report_rules import bar_chart
from telehealth.notes.rules import SOAP_SECTIONS
from telehealth.notes.schemas import DateRangeQuery, NoteTemplateIn
from telehealth.scheduling import service as scheduling

DEFAULT_REPORT_DAYS = 30
# The chart's coming visits: those that have not ended, two months ahead (the calendar's longest
# listing), a visit under way included.
CHART_UPCOMING = timedelta(days=60)
CHART_RUNNING_VISIT = timedelta(hours=2)
_COMING = ("booked", "checked_in", "in_progress")


@session_in_work
async def note_editor_page(request: web.Request) -> web.StreamResponse:
    """The visit's note editor (its therapist only); the script loads and saves the note."""
    appointment_id = path_uuid(request, "appointment_id")
    async with request_work(request, reads_only=True) as uow:
        visit = await service.visit_for_editor_in(uow, appointment_id)
    return render(request, "notes/editor.html", {"visit": visit, "zone": uow.actor.time_zone})


@session_in_work
async def summary_page(request: web.Request) -> web.StreamResponse:
    """The patient's plain-language summary of a signed visit; printable."""
    appointment_id = path_uuid(request, "appointment_id")
    services, catalogs = request.app[SERVICES], request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        view = await service.visit_summary_in(uow, services, catalogs, appointment_id)
    return render(request, "notes/summary.html", {"view": view, "zone": uow.actor.time_zone})


@session_in_work
async def exercises_page(request: web.Request) -> web.StreamResponse:
    """A patient's current home exercises and their signed visit summaries."""
    services, catalogs = request.app[SERVICES], request.app[CATALOG]
    # One unit of work: both lists read the same signed notes at one moment.
    async with request_work(request, reads_only=True) as uow:
        actor = uow.actor
        exercises = await service.current_exercises_in(uow, services, catalogs)
        summaries = await service.visit_summaries_in(uow, services, catalogs)
    return render(
        request,
        "notes/exercises.html",
        {"exercises": exercises, "summaries": summaries, "zone": actor.time_zone},
    )


async def history_page(request: web.Request) -> web.StreamResponse:
    """A patient's chart: the coming visits, then the past ones with their signed notes."""
    actor = require_actor(request)
    services, caller = request.app[SERVICES], caller_of(request)
    patient_id = path_uuid(request, "patient_id")
    # The history first: it answers 404 for a patient the reader may not see.
    history = await reports.treatment_history(services, request.app[CATALOG], caller, patient_id)
    now = services.clock.now()
    upcoming = await scheduling.list_appointments(
        services,
        caller,
        scheduling.ListQuery(
            start=now - CHART_RUNNING_VISIT,
            end=now + CHART_UPCOMING,
            patient_id=patient_id,
            include_cancelled=False,
        ),
    )
    upcoming = [v for v in upcoming if v.row.end_at > now and v.row.status in _COMING]
    return render(
        request,
        "notes/history.html",
        {"history": history, "zone": actor.time_zone, "upcoming": upcoming},
    )


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


def _template_values(view: templates.TemplateView) -> dict[str, str]:
    values = {k: str(view.document.get(k, "")) for k in SOAP_SECTIONS}
    values["interventions"] = json.dumps(view.document.get("interventions", []), indent=1)
    return values


async def note_templates_page(request: web.Request) -> web.StreamResponse:
    """Every appointment type and its note template (admins)."""
    views = await templates.list_templates(request.app[SERVICES], caller_of(request))
    return render(request, "notes/templates.html", {"templates": views})


async def note_template_page(request: web.Request) -> web.StreamResponse:
    """The form to edit one appointment type's note template (admins)."""
    actor = require_actor(request)
    view = await templates.get_template(
        request.app[SERVICES], caller_of(request), request.match_info["type_key"]
    )
    return render(
        request,
        "notes/template_edit.html",
        {
            "view": view,
            "values": _template_values(view),
            "zone": actor.time_zone,
            "error": None,
            "saved": request.query.get("saved") == "1",
        },
    )


async def note_template_submit(request: web.Request) -> web.StreamResponse:
    """Save the form as the next version of the template."""
    actor = require_actor(request)
    services, caller = request.app[SERVICES], caller_of(request)
    type_key = request.match_info["type_key"]
    form = await read_form(request)
    values = {k: str(form.get(k, ""))[:20_000] for k in (*SOAP_SECTIONS, "interventions")}
    try:
        try:
            interventions = json.loads(values["interventions"] or "[]")
        except ValueError:
            raise InvalidInput(
                "The default interventions are not a valid JSON list.",
                details=[{"field": "interventions"}],
            ) from None
        try:
            body = NoteTemplateIn.model_validate(
                {
                    "version": int(str(form.get("version", "0")) or "0"),
                    "document": {
                        **{k: values[k] for k in SOAP_SECTIONS},
                        "interventions": interventions,
                    },
                }
            )
        except (ValueError, ValidationError):
            raise InvalidInput("Please reload the page and try again.") from None
        await templates.put_template(
            services, request.app[CATALOG], caller, type_key, body.version, body.document
        )
    except (InvalidInput, Conflict) as exc:
        view = await templates.get_template(services, caller, type_key)
        return render(
            request,
            "notes/template_edit.html",
            {
                "view": view,
                "values": values,
                "zone": actor.time_zone,
                "error": exc.message,
                "saved": False,
            },
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/admin/note-templates/{type_key}?saved=1")


def setup_routes(app: web.Application) -> None:
    """Add the note pages."""
    app.router.add_get("/visits/{appointment_id}/note", note_editor_page)
    app.router.add_get("/visits/{appointment_id}/summary", summary_page)
    app.router.add_get("/my/exercises", exercises_page)
    app.router.add_get("/patients/{patient_id}/history", history_page)
    app.router.add_get("/admin/reports/techniques", technique_report_page)
    app.router.add_get("/admin/note-templates", note_templates_page)
    app.router.add_get("/admin/note-templates/{type_key}", note_template_page)
    app.router.add_post("/admin/note-templates/{type_key}", note_template_submit)
