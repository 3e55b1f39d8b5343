"""The screening questions a patient answers before the free screening, the outcome page, and
the clinician's "I have taken charge" of a red flag."""

from __future__ import annotations

import uuid

from aiohttp import web

from telehealth.errors import InvalidInput
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.forms import read_form
from telehealth.http.templates import render
from telehealth.intake import service
from telehealth.intake.triage import Answer, Question, load_table

# Asked first, in this order; every other question is a warning sign, asked after.
_ABOUT_THE_PAIN = ("age", "new_onset")


def _groups() -> list[tuple[str, list[Question]]]:
    questions = load_table().questions
    first = [questions[key] for key in _ABOUT_THE_PAIN]
    signs = [q for key, q in questions.items() if key not in _ABOUT_THE_PAIN]
    return [("About you and your pain", first), ("Warning signs", signs)]


def _form_page(
    request: web.Request,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    return render(
        request,
        "screening/questions.html",
        {"groups": _groups(), "values": values, "problems": problems or {}},
        status=status,
    )


@session_in_work
async def questions_page(request: web.Request) -> web.StreamResponse:
    """The red-flag questions, for a signed-in patient."""
    async with request_work(request, reads_only=True) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
    return _form_page(request, {})


def _answers(values: dict[str, str]) -> tuple[dict[str, Answer], dict[str, str]]:
    """The form's text as answers, and the questions whose text is not an answer."""
    answers: dict[str, Answer] = {}
    problems: dict[str, str] = {}
    for key, question in load_table().questions.items():
        text = values.get(key, "").strip()
        if not text:
            problems[key] = "Please answer this question."
        elif question.kind == "boolean":
            if text not in ("yes", "no"):
                problems[key] = "Please choose Yes or No."
            else:
                answers[key] = text == "yes"
        elif not text.isdigit() or not question.low <= int(text) <= question.high:
            problems[key] = f"Please give a whole number from {question.low} to {question.high}."
        else:
            answers[key] = int(text)
    return answers, problems


@session_in_work
async def questions_submit(request: web.Request) -> web.StreamResponse:
    """Triage the answers and show the outcome; anything missing is asked again, answers kept."""
    form = await read_form(request)
    questions = load_table().questions
    values = {key: str(form.get(key, ""))[:8] for key in questions}
    answers, problems = _answers(values)
    async with request_work(request) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
        if not problems:
            try:
                intake = await service.submit_intake_in(uow, uow.actor.id, answers)
            except InvalidInput as exc:
                details = exc.details if isinstance(exc.details, dict) else {}
                problems = {k: "Please answer this question." for k in details.get("problems", {})}
    if problems:
        return _form_page(request, values, problems, status=422)
    raise web.HTTPSeeOther(f"/screening/{intake.id}")


@session_in_work
async def outcome_page(request: web.Request) -> web.StreamResponse:
    """What the answers mean and what to do now; staff see which answers raised what."""
    intake_id = path_uuid(request, "intake_id")
    async with request_work(request, reads_only=True) as uow:
        intake = await service.get_intake_in(uow, intake_id)
        staff = not uow.actor.is_patient
    return render(request, "screening/outcome.html", {"intake": intake, "staff": staff})


@session_in_work
async def acknowledge_submit(request: web.Request) -> web.StreamResponse:
    """A clinician takes charge of an intake's red flags; back to where they came from."""
    intake_id: uuid.UUID = path_uuid(request, "intake_id")
    form = await read_form(request)
    async with request_work(request) as uow:
        await service.acknowledge_in(uow, intake_id, str(form.get("note", ""))[:500])
    raise web.HTTPSeeOther(f"/screening/{intake_id}")


def setup_routes(app: web.Application) -> None:
    """Add the screening pages."""
    app.router.add_get("/screening", questions_page)
    app.router.add_post("/screening", questions_submit)
    app.router.add_get("/screening/{intake_id}", outcome_page)
    app.router.add_post("/screening/{intake_id}/acknowledge", acknowledge_submit)
