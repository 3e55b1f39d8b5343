"""How you are doing: a patient answers a measure and reads the change; staff read a patient's
scores over time."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from telehealth.errors import InvalidInput, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.forms import read_form
from telehealth.http.keys import SETTINGS
from telehealth.http.templates import render
from telehealth.measures import service
from telehealth.measures.packs import Instruments, installed
from telehealth.measures.scoring import Instrument

INSTRUMENTS: web.AppKey[Instruments] = web.AppKey("measure_instruments", Instruments)

# What a patient answers on their own, in the order the page offers them.
PATIENT_INSTRUMENTS = ("nprs", "lefs", "psfs")
_SHORT = 4
_ACTIVITY = 200  # longer than the scoring limit, so the page says "at most 80" with it kept


def _patient_instruments(instruments: Instruments) -> list[Instrument]:
    offered = {i.key: i for i in instruments.offered}
    return [offered[key] for key in PATIENT_INSTRUMENTS if key in offered]


@session_in_work
async def mine_page(request: web.Request) -> web.StreamResponse:
    """The patient's measures: what to answer, and their scores with the change in words."""
    instruments = request.app[INSTRUMENTS]
    async with request_work(request, reads_only=True) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
        measures = await service.patient_measures_in(uow, instruments, uow.actor.id)
        zone = uow.actor.time_zone
    return render(
        request,
        "measures/mine.html",
        {
            "measures": measures,
            "choices": _patient_instruments(instruments),
            "zone": zone,
            "just": request.query.get("just", "")[:16],
        },
    )


def _instrument_for_patient(request: web.Request) -> Instrument:
    key = request.match_info["key"]
    found = {i.key: i for i in _patient_instruments(request.app[INSTRUMENTS])}.get(key)
    if found is None:
        raise NotFound("No such measure.")
    return found


def _form_page(
    request: web.Request,
    instrument: Instrument,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    return render(
        request,
        f"measures/{'activities' if instrument.kind == 'mean_of_activities' else 'items'}.html",
        {"instrument": instrument, "values": values, "problems": problems or {}},
        status=status,
    )


@session_in_work
async def form_page(request: web.Request) -> web.StreamResponse:
    """One instrument's questions."""
    instrument = _instrument_for_patient(request)
    async with request_work(request, reads_only=True) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
    return _form_page(request, instrument, {})


def _field_names(instrument: Instrument) -> list[str]:
    if instrument.kind == "mean_of_activities":
        return [
            f"{part}_{n}"
            for n in range(1, instrument.max_activities + 1)
            for part in ("activity", "rating")
        ]
    return [item.key for item in instrument.items]


def _answers(
    instrument: Instrument, values: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's text as answers, and the fields whose text is not an answer."""
    problems: dict[str, str] = {}
    if instrument.kind == "mean_of_activities":
        activities: list[dict[str, Any]] = []
        for n in range(1, instrument.max_activities + 1):
            name, rating = values[f"activity_{n}"].strip(), values[f"rating_{n}"].strip()
            if not name and not rating:
                continue
            if not rating.isdigit():
                problems[f"rating_{n}"] = "Please choose how well you can do this activity."
                continue
            activities.append({"activity": name, "rating": int(rating)})
        return {"activities": activities}, problems
    answers: dict[str, Any] = {}
    for item in instrument.items:
        text = values[item.key].strip()
        if not text:
            continue
        if not text.isdigit() or not item.low <= int(text) <= item.high:
            problems[item.key] = "Please choose one of the answers."
        else:
            answers[item.key] = int(text)
    return answers, problems


def _plain(instrument: Instrument, key: str, problem: str) -> str:
    """A scoring problem in the patient's words."""
    if problem.startswith("not answered"):
        if instrument.max_missing:
            return (
                f"Please answer this question (you may leave out at most {instrument.max_missing})."
            )
        return "Please answer this question."
    if key == "activities":
        return f"Please {problem}."
    return problem[:1].upper() + problem[1:] + "."


@session_in_work
async def form_submit(request: web.Request) -> web.StreamResponse:
    """Score the answers and go back to the scores; anything wrong is asked again, answers kept."""
    instrument = _instrument_for_patient(request)
    form = await read_form(request)
    limit = _ACTIVITY if instrument.kind == "mean_of_activities" else _SHORT
    values = {name: str(form.get(name, ""))[:limit] for name in _field_names(instrument)}
    answers, problems = _answers(instrument, values)
    async with request_work(request) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/")
        if not problems:
            try:
                await service.submit_in(
                    uow, request.app[INSTRUMENTS], uow.actor.id, instrument.key, answers
                )
            except InvalidInput as exc:
                details = exc.details if isinstance(exc.details, dict) else {}
                problems = {
                    key: _plain(instrument, key, why)
                    for key, why in details.get("problems", {}).items()
                }
    if problems:
        return _form_page(request, instrument, values, problems, status=422)
    raise web.HTTPSeeOther(f"/my/measures?just={instrument.key}")


@session_in_work
async def patient_page(request: web.Request) -> web.StreamResponse:
    """A patient's scores over time, per instrument, for their therapist or an admin."""
    patient_id: uuid.UUID = path_uuid(request, "patient_id")
    instruments = request.app[INSTRUMENTS]
    async with request_work(request, reads_only=True) as uow:
        if uow.actor.is_patient and patient_id == uow.actor.id:
            raise web.HTTPSeeOther("/my/measures")
        # Anyone else's id answers 404 from the access check, and the refusal is audited.
        measures = await service.patient_measures_in(uow, instruments, patient_id)
        zone = uow.actor.time_zone
    unavailable = [i for i in instruments.by_key.values() if i.offered and not i.available]
    return render(
        request,
        "measures/patient.html",
        {"measures": measures, "zone": zone, "unavailable": unavailable},
    )


def setup(app: web.Application) -> None:
    """Load the instrument table and the clinic's pack (a broken one stops start-up), and add
    the pages."""
    app[INSTRUMENTS] = installed(app[SETTINGS].measure_pack_dir)
    app.router.add_get("/my/measures", mine_page)
    app.router.add_get("/my/measures/{key}", form_page)
    app.router.add_post("/my/measures/{key}", form_submit)
    app.router.add_get("/patients/{patient_id}/measures", patient_page)
