"""Today: the patient's exercises for the day with a picture, a hold timer and a Done button,
and a quick session log; the service worker that keeps the page usable offline; and the
therapist's view of a patient's logs. Forms work as plain posts; the script posts the same forms
with fetch and asks for JSON."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from telehealth.catalog.store import CATALOG
from telehealth.errors import DomainError, InvalidInput
from telehealth.home_program import service
from telehealth.home_program.rules import DIFFICULTIES
from telehealth.home_program.schemas import DoneIn, SessionLogIn
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.errors import error_body
from telehealth.http.forms import Form, parse_form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.resources import web_dir

_LOG_FIELDS = ("pain", "difficulty", "comment")
_LONGEST = 1200  # more than the comment's limit, so the page says so with the text kept


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def _today_page(
    request: web.Request,
    *,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> web.StreamResponse:
    services, catalogs = request.app[SERVICES], request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
        today = await service.today_in(uow, services, catalogs)
    return render(
        request,
        "home_program/today.html",
        {
            "today": today,
            "values": values or dict.fromkeys((*_LOG_FIELDS, "client_id"), ""),
            "problem": problem,
            "difficulties": DIFFICULTIES,
            # Each form's own id: a second press or a resent form is the same mark.
            "fresh_id": str(uuid.uuid4()),
            "fresh_ids": [str(uuid.uuid4()) for _ in today.exercises],
            "logged": request.query.get("logged") == "1",
        },
        status=status,
    )


@session_in_work
async def today_page(request: web.Request) -> web.StreamResponse:
    """The patient's exercises for today."""
    return await _today_page(request)


def _refused(request: web.Request, exc: DomainError) -> web.StreamResponse:
    return web.json_response(
        error_body(request, exc.status, exc.code, exc.message, exc.details), status=exc.status
    )


@session_in_work
async def done_submit(request: web.Request) -> web.StreamResponse:
    """Mark an exercise done (once a day however often it is sent)."""
    form = await read_form(request)
    services, catalogs = request.app[SERVICES], request.app[CATALOG]
    try:
        body = parse_form(form, DoneIn)
        async with request_work(request) as uow:
            stored = await service.mark_done_in(
                uow, services, catalogs, body.exercise, body.day, body.client_id
            )
    except DomainError as exc:
        if _wants_json(request):
            return _refused(request, exc)
        if not isinstance(exc, InvalidInput):
            raise
        return await _today_page(
            request, problem="That mark could not be saved. Please try again.", status=422
        )
    if _wants_json(request):
        return web.json_response({"stored": stored, "exercise": body.exercise})
    raise web.HTTPSeeOther(f"/my/today#ex-{body.exercise}")


def _log_values(form: Form) -> dict[str, str]:
    return {name: str(form.get(name, ""))[:_LONGEST] for name in (*_LOG_FIELDS, "client_id")}


def _plain_problem(exc: InvalidInput) -> str:
    fields = (
        {str(d.get("field", "")) for d in exc.details} if isinstance(exc.details, list) else set()
    )
    if "pain" in fields:
        return "Please choose your pain from 0 (none) to 10 (the worst)."
    if "difficulty" in fields:
        return "Please choose how hard the exercises felt."
    if "comment" in fields:
        return "Please keep your comment to 1000 characters."
    return exc.message


@session_in_work
async def log_submit(request: web.Request) -> web.StreamResponse:
    """Keep the session log; anything wrong is asked again with every typed value kept."""
    form = await read_form(request)
    values = _log_values(form)
    try:
        # Only the kept (cut) values are read, so an oversize comment is refused in words.
        kept = MultiDict[str | bytes | bytearray | web.FileField](values)
        kept["day"] = str(form.get("day", ""))[:20]
        body = parse_form(MultiDictProxy(kept), SessionLogIn)
        async with request_work(request) as uow:
            stored = await service.log_session_in(
                uow, body.day, body.client_id, body.pain, body.difficulty, body.comment.strip()
            )
    except DomainError as exc:
        if _wants_json(request):
            return _refused(request, exc)
        if not isinstance(exc, InvalidInput):
            raise
        return await _today_page(request, values=values, problem=_plain_problem(exc), status=422)
    if _wants_json(request):
        return web.json_response({"stored": stored})
    raise web.HTTPSeeOther("/my/today?logged=1#log-title")


async def service_worker(request: web.Request) -> web.StreamResponse:
    """The offline worker, served under /my/ so that its scope can cover /my/today."""
    response = web.FileResponse(web_dir() / "static" / "js" / "sw.js")
    response.content_type = "text/javascript"
    # A new worker is picked up at the next visit rather than after an HTTP cache's lifetime.
    response.headers["Cache-Control"] = "no-cache"
    return response


@session_in_work
async def patient_page(request: web.Request) -> web.StreamResponse:
    """A patient's home program logs, day by day, for their therapist or an admin."""
    patient_id = path_uuid(request, "patient_id")
    async with request_work(request, reads_only=True) as uow:
        if uow.actor.is_patient and patient_id == uow.actor.id:
            raise web.HTTPSeeOther("/my/today")
        # Anyone else's id answers 404 from the access check, and the refusal is audited.
        logs = await service.patient_logs_in(uow, request.app[CATALOG], patient_id)
    context: dict[str, Any] = {"logs": logs}
    return render(request, "home_program/patient.html", context)


def setup_routes(app: web.Application) -> None:
    """Add the Today pages, the offline worker and the staff view."""
    app.router.add_get("/my/today", today_page)
    app.router.add_post("/my/today/done", done_submit)
    app.router.add_post("/my/today/log", log_submit)
    app.router.add_get("/my/today-sw.js", service_worker)
    app.router.add_get("/patients/{patient_id}/home-program", patient_page)
