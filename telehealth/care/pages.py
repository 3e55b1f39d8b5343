"""The caseload, an episode's page, the plan-of-care form (first version and revisions), its
certification steps, the discharge, and the patient's plan in plain words."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from telehealth.care import service
from telehealth.care.rules import (
    MAX_GOALS,
    MODALITIES,
    SUGGESTED_WEEKDAYS,
    CertificationKind,
    Goal,
    GoalStatus,
    GoalTerm,
    PlanDraft,
    PlanWindow,
    series_problems,
    weeks_left,
)
from telehealth.care.service import EpisodeView, PlanView
from telehealth.catalog.loader import Catalog
from telehealth.catalog.store import CATALOG
from telehealth.errors import Conflict, InvalidInput, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.context import caller_of
from telehealth.http.forms import Form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.scheduling import service as scheduling

# Blank goal rows offered beside the plan's goals: enough for a first plan's usual 2-4 goals.
BLANK_GOAL_ROWS = 3


def _problems_of(exc: InvalidInput) -> dict[str, str]:
    details = exc.details if isinstance(exc.details, dict) else {}
    problems = details.get("problems", {})
    return {str(k): str(v) for k, v in problems.items()} if isinstance(problems, dict) else {}


# --- caseload ------------------------------------------------------------------------------------


@session_in_work
async def caseload_page(request: web.Request) -> web.StreamResponse:
    """A therapist's active episodes with what each needs next, and the form to open one."""
    return await _caseload(request, {}, {})


async def _caseload(
    request: web.Request, values: dict[str, str], problems: dict[str, str], status: int = 200
) -> web.StreamResponse:
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        if uow.actor.is_patient:
            raise web.HTTPSeeOther("/my/plan")
        catalog = await catalogs.current(uow.session)
        episodes = await service.caseload_in(uow, catalog)
        patients = await service.therapist_patients_in(uow) if uow.actor.is_therapist else []
        zone = uow.actor.time_zone
    return render(
        request,
        "care/caseload.html",
        {
            "episodes": episodes,
            "patients": patients,
            "values": values,
            "problems": problems,
            "zone": zone,
        },
        status=status,
    )


@session_in_work
async def open_episode_submit(request: web.Request) -> web.StreamResponse:
    """Open an episode for one of the therapist's patients, then write its plan."""
    form = await read_form(request)
    values = {k: str(form.get(k, ""))[:200] for k in ("patient_id", "title")}
    try:
        patient_id = uuid.UUID(values["patient_id"])
    except ValueError:
        return await _caseload(request, values, {"patient_id": "Choose the patient."}, 422)
    try:
        async with request_work(request) as uow:
            episode_id = await service.open_episode_in(uow, patient_id, values["title"])
    except InvalidInput as exc:
        return await _caseload(request, values, _problems_of(exc), 422)
    raise web.HTTPSeeOther(f"/episodes/{episode_id}/plan")


# --- an episode ----------------------------------------------------------------------------------


async def _episode(
    request: web.Request, episode_id: uuid.UUID
) -> tuple[EpisodeView, Catalog, str, bool]:
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        catalog = await catalogs.current(uow.session)
        episode = await service.get_episode_in(uow, catalog, episode_id)
        if uow.actor.is_patient:
            raise web.HTTPSeeOther("/my/plan")  # the patient's own words for the same plan
        return episode, catalog, uow.actor.time_zone, uow.actor.is_therapist


@session_in_work
async def episode_page(request: web.Request) -> web.StreamResponse:
    """The episode: plan in force, goals, certification, progress clock, visits, versions."""
    episode_id = path_uuid(request, "episode_id")
    episode, catalog, zone, clinician = await _episode(request, episode_id)
    return _episode_render(request, episode, catalog, zone, clinician, {}, {})


def _episode_render(
    request: web.Request,
    episode: EpisodeView,
    catalog: Catalog,
    zone: str,
    clinician: bool,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    return render(
        request,
        "care/episode.html",
        {
            "episode": episode,
            "catalog": catalog,
            "zone": zone,
            "clinician": clinician,
            "kinds": list(CertificationKind),
            "values": values,
            "problems": problems,
            "modalities": MODALITIES,
        },
        status=status,
    )


@session_in_work
async def plan_version_page(request: web.Request) -> web.StreamResponse:
    """An earlier version of the plan, read as it was written."""
    episode_id = path_uuid(request, "episode_id")
    try:
        version = int(request.match_info["version"])
    except ValueError:
        raise NotFound("No such version of this plan.") from None
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        catalog = await catalogs.current(uow.session)
        plan = await service.plan_version_in(uow, episode_id, version)
        zone = uow.actor.time_zone
    return render(
        request,
        "care/plan_version.html",
        {
            "plan": plan,
            "episode_id": episode_id,
            "catalog": catalog,
            "zone": zone,
            "modalities": MODALITIES,
        },
    )


@session_in_work
async def certification_submit(request: web.Request) -> web.StreamResponse:
    """Record a certification step of the plan in force."""
    episode_id = path_uuid(request, "episode_id")
    form = await read_form(request)
    values = {k: str(form.get(k, ""))[:120] for k in ("kind", "on_date", "practitioner")}
    problems: dict[str, str] = {}
    try:
        kind = CertificationKind(values["kind"])
    except ValueError:
        problems["kind"] = "Choose what happened."
    try:
        on_date = date.fromisoformat(values["on_date"])
    except ValueError:
        problems["on_date"] = "Give the date it happened."
    if not problems:
        try:
            async with request_work(request) as uow:
                await service.record_certification_in(
                    uow, episode_id, kind, on_date, values["practitioner"]
                )
        except InvalidInput as exc:
            problems = _problems_of(exc)
    if problems:
        episode, catalog, zone, clinician = await _episode(request, episode_id)
        return _episode_render(request, episode, catalog, zone, clinician, values, problems, 422)
    raise web.HTTPSeeOther(f"/episodes/{episode_id}#certification")


@session_in_work
async def link_visit_submit(request: web.Request) -> web.StreamResponse:
    """Count a visit in this episode."""
    episode_id = path_uuid(request, "episode_id")
    form = await read_form(request)
    try:
        appointment_id = uuid.UUID(str(form.get("appointment_id", "")))
    except ValueError:
        raise InvalidInput("Choose the visit to count in this episode.") from None
    async with request_work(request) as uow:
        await service.link_visit_in(uow, episode_id, appointment_id)
    raise web.HTTPSeeOther(f"/episodes/{episode_id}#visits")


# --- the plan form -------------------------------------------------------------------------------


def _goal_rows(goals: tuple[Goal, ...]) -> list[dict[str, str]]:
    rows = [
        {
            "id": g.id,
            "term": g.term.value,
            "text": g.text,
            "measure": g.measure,
            "baseline": g.baseline,
            "target": g.target,
            "target_date": g.target_date.isoformat(),
            "status": g.status.value,
        }
        for g in goals
    ]
    blank = {
        "id": "",
        "term": GoalTerm.LONG.value if not rows else GoalTerm.SHORT.value,
        "text": "",
        "measure": "",
        "baseline": "",
        "target": "",
        "target_date": "",
        "status": GoalStatus.IN_PROGRESS.value,
    }
    while len(rows) < min(len(goals) + BLANK_GOAL_ROWS, MAX_GOALS):
        rows.append(dict(blank))
    return rows


def _plan_values(plan: PlanView | None, today: date) -> dict[str, Any]:
    if plan is None:
        return {
            "start_date": today.isoformat(),
            "frequency_per_week": "2",
            "amount_per_day": "1",
            "duration_weeks": "6",
            "duration_visits": "",
            "cert_end": "",
            "diagnoses": "",
            "interventions": [],
            "modalities": ["virtual"],
            "goals": _goal_rows(()),
            "change_reason": "",
        }
    draft = plan.draft
    return {
        "start_date": draft.start_date.isoformat(),
        "frequency_per_week": str(draft.frequency_per_week),
        "amount_per_day": str(draft.amount_per_day),
        "duration_weeks": "" if draft.duration_weeks is None else str(draft.duration_weeks),
        "duration_visits": "" if draft.duration_visits is None else str(draft.duration_visits),
        "cert_end": plan.cert_end.isoformat(),
        "diagnoses": ", ".join(draft.diagnoses),
        "interventions": list(draft.interventions),
        "modalities": list(draft.modalities),
        "goals": _goal_rows(draft.goals),
        "change_reason": "",
    }


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


def _values_of(form: Form) -> dict[str, Any]:
    """The form's text as typed, to be shown again on a refusal."""

    def text(name: str, limit: int = 300) -> str:
        return str(form.get(name, ""))[:limit]

    goals = []
    for index in range(MAX_GOALS):
        prefix = f"goal_{index}_"
        if prefix + "text" not in form:
            continue
        goals.append(
            {
                key: text(prefix + key)
                for key in (
                    "id",
                    "term",
                    "text",
                    "measure",
                    "baseline",
                    "target",
                    "target_date",
                    "status",
                )
            }
        )
    return {
        "start_date": text("start_date", 10),
        "frequency_per_week": text("frequency_per_week", 4),
        "amount_per_day": text("amount_per_day", 4),
        "duration_weeks": text("duration_weeks", 4),
        "duration_visits": text("duration_visits", 4),
        "cert_end": text("cert_end", 10),
        "diagnoses": text("diagnoses", 200),
        "interventions": [str(v)[:64] for v in form.getall("interventions", [])],
        "modalities": [str(v)[:16] for v in form.getall("modalities", [])],
        "goals": goals,
        "change_reason": text("change_reason", 500),
        "based_on": text("based_on", 4),
    }


def _draft_of(values: dict[str, Any]) -> tuple[PlanDraft | None, dict[str, str]]:
    """The typed values as a draft plan, or what could not be read (dates, numbers)."""
    problems: dict[str, str] = {}

    def day(name: str, text: str, optional: bool = False) -> date | None:
        if optional and not text.strip():
            return None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            problems[name] = "Give a date."
            return None

    start = day("start_date", values["start_date"])
    cert_end = day("cert_end", values["cert_end"], optional=True)
    frequency = _number(values["frequency_per_week"])
    amount = _number(values["amount_per_day"]) if values["amount_per_day"].strip() else 1
    weeks = _number(values["duration_weeks"])
    visits = _number(values["duration_visits"])
    if frequency is None:
        problems["frequency_per_week"] = "Give how many times a week, from 1 to 7."
    if amount is None:
        problems["amount_per_day"] = "Give how many sessions a day, from 1 to 3."
    if (values["duration_weeks"].strip() and weeks is None) or (
        values["duration_visits"].strip() and visits is None
    ):
        problems["duration"] = "Give the duration as a whole number of weeks or visits."
    goals: list[Goal] = []
    for index, row in enumerate(values["goals"]):
        if not any(row[k].strip() for k in ("text", "baseline", "target", "target_date")):
            continue  # a blank row
        where = f"goal_{index}"
        target_date = day(where, row["target_date"])
        try:
            term, status = GoalTerm(row["term"]), GoalStatus(row["status"] or "in_progress")
        except ValueError:
            problems[where] = "Choose the goal's term and status from the lists."
            continue
        if target_date is None:
            problems[where] = "Give the date the goal should be reached by."
            continue
        goals.append(
            Goal(
                id=row["id"].strip(),
                term=term,
                text=" ".join(row["text"].split()),
                baseline=" ".join(row["baseline"].split()),
                target=" ".join(row["target"].split()),
                target_date=target_date,
                measure=" ".join(row["measure"].split())[:60],
                status=status,
            )
        )
    if problems or start is None or frequency is None or amount is None:
        return None, problems
    codes = tuple(
        dict.fromkeys(c.strip().upper() for c in values["diagnoses"].split(",") if c.strip())
    )
    return (
        PlanDraft(
            start_date=start,
            frequency_per_week=frequency,
            duration_weeks=weeks,
            duration_visits=visits,
            amount_per_day=amount,
            diagnoses=codes,
            interventions=tuple(dict.fromkeys(values["interventions"])),
            modalities=tuple(dict.fromkeys(values["modalities"])),
            goals=tuple(goals),
            cert_end=cert_end,
        ),
        {},
    )


def _plan_form(
    request: web.Request,
    episode: EpisodeView,
    catalog: Catalog,
    values: dict[str, Any],
    problems: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    techniques = [catalog.techniques[t] for t in service.plannable_techniques(catalog)]
    return render(
        request,
        "care/plan_form.html",
        {
            "episode": episode,
            "values": values,
            "problems": problems,
            "techniques": techniques,
            "modalities": MODALITIES,
            "terms": list(GoalTerm),
            "statuses": list(GoalStatus),
            "based_on": episode.plan.version if episode.plan else 0,
        },
        status=status,
    )


@session_in_work
async def plan_form_page(request: web.Request) -> web.StreamResponse:
    """The plan form: empty for the first plan, the plan in force for a revision."""
    episode_id = path_uuid(request, "episode_id")
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        catalog = await catalogs.current(uow.session)
        episode = await service.get_episode_in(uow, catalog, episode_id)
        if not uow.actor.is_therapist or not episode.active:
            raise web.HTTPSeeOther(f"/episodes/{episode_id}")
        today = uow.now.date()
    return _plan_form(request, episode, catalog, _plan_values(episode.plan, today), {})


@session_in_work
async def plan_submit(request: web.Request) -> web.StreamResponse:
    """Store the plan as its next version; a refusal shows the form again with every value."""
    episode_id = path_uuid(request, "episode_id")
    form = await read_form(request)
    values = _values_of(form)
    draft, problems = _draft_of(values)
    based_on = _number(values["based_on"]) or 0
    catalogs = request.app[CATALOG]
    status = 422
    if draft is not None:
        try:
            async with request_work(request) as uow:
                catalog = await catalogs.current(uow.session)
                await service.write_plan_in(
                    uow,
                    catalog,
                    episode_id,
                    draft,
                    based_on=based_on,
                    change_reason=values["change_reason"],
                )
        except InvalidInput as exc:
            problems = _problems_of(exc) or {"form": exc.message}
        except Conflict as exc:
            problems, status = {"form": exc.message}, 409
    if not problems:
        raise web.HTTPSeeOther(f"/episodes/{episode_id}")
    episode, catalog, _zone, _clinician = await _episode(request, episode_id)
    # The rows come back as typed, blank ones included (the form posts every row).
    return _plan_form(request, episode, catalog, values, problems, status)


# --- the plan's visits as a series ---------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# How a series occurrence that could not be booked is explained.
_SERIES_PROBLEMS = {
    "too_soon": "too soon to book",
    "beyond_horizon": "too far ahead to book",
    "outside_availability": "outside your working hours (or the clinic is closed)",
    "busy": "you or the patient already have a visit then",
    "therapist_busy": "you already have a visit then",
    "patient_busy": "the patient already has a visit then",
}


async def _series_context(
    request: web.Request, episode_id: uuid.UUID
) -> tuple[EpisodeView, list[tuple[str, str]], date]:
    """The episode, the visit types, and the therapist's today."""
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        catalog = await catalogs.current(uow.session)
        episode = await service.get_episode_in(uow, catalog, episode_id)
        if not uow.actor.is_therapist or not episode.active or episode.plan is None:
            raise web.HTTPSeeOther(f"/episodes/{episode_id}")
        types = await scheduling.list_types_in(uow)
        today = uow.now.astimezone(ZoneInfo(uow.actor.time_zone)).date()
    return episode, [(t.key, t.name) for t in types], today


def _series_form(
    request: web.Request,
    episode: EpisodeView,
    types: list[tuple[str, str]],
    values: dict[str, Any],
    problems: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    return render(
        request,
        "care/series.html",
        {
            "episode": episode,
            "types": types,
            "values": values,
            "problems": problems,
            "weekday_names": WEEKDAY_NAMES,
            "modalities": MODALITIES,
        },
        status=status,
    )


@session_in_work
async def series_page(request: web.Request) -> web.StreamResponse:
    """Book the plan's visits as a weekly series: its days, time and weeks, suggested."""
    episode_id = path_uuid(request, "episode_id")
    episode, types, today = await _series_context(request, episode_id)
    assert episode.plan is not None
    draft = episode.plan.draft
    first = max(draft.start_date, today + timedelta(days=1))
    values = {
        "first_day": first.isoformat(),
        "weekdays": [str(d) for d in SUGGESTED_WEEKDAYS[min(draft.frequency_per_week, 7)]],
        "time": "09:00",
        "weeks": str(weeks_left(first, episode.plan.cert_end)),
        "type": "follow_up" if any(k == "follow_up" for k, _ in types) else types[0][0],
        "modality": draft.modalities[0],
    }
    return _series_form(request, episode, types, values, {})


@session_in_work
async def series_submit(request: web.Request) -> web.StreamResponse:
    """Book the series; what could not be booked is listed with the reason, the rest stands."""
    episode_id = path_uuid(request, "episode_id")
    form = await read_form(request)
    values: dict[str, Any] = {
        k: str(form.get(k, ""))[:20] for k in ("first_day", "time", "weeks", "type", "modality")
    }
    values["weekdays"] = [str(v)[:1] for v in form.getall("weekdays", [])]
    episode, types, _today = await _series_context(request, episode_id)
    assert episode.plan is not None
    problems: dict[str, str] = {}
    try:
        first_day = date.fromisoformat(values["first_day"])
    except ValueError:
        problems["first_day"] = "Give the first day."
    try:
        wall_time = time.fromisoformat(values["time"])
    except ValueError:
        problems["time"] = "Give the time of day, such as 09:00."
    weeks = _number(values["weeks"])
    if weeks is None:
        problems["weeks"] = "Give a whole number of weeks."
    weekdays = frozenset(int(d) for d in values["weekdays"] if d.isdigit() and int(d) < 7)
    if values["type"] not in {k for k, _ in types}:
        problems["type"] = "Choose the kind of visit."
    if values["modality"] not in MODALITIES:
        problems["modality"] = "Choose how the visits are held."
    if not problems:
        window = PlanWindow(
            episode.plan.draft.start_date,
            episode.plan.cert_end,
            episode.plan.draft.frequency_per_week * episode.plan.draft.amount_per_day,
        )
        assert weeks is not None
        problems = series_problems(window, weekdays, first_day, weeks)
    if problems:
        return _series_form(request, episode, types, values, problems, 422)
    assert weeks is not None
    try:
        outcome = await scheduling.book_series(
            request.app[SERVICES],
            caller_of(request),
            scheduling.SeriesRequest(
                type_key=values["type"],
                modality=values["modality"],
                weekdays=weekdays,
                wall_time=wall_time,
                first_day=first_day,
                weeks=weeks,
                patient_id=episode.patient_id,
                all_or_nothing=False,
            ),
        )
    except Conflict as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return render(
            request,
            "care/series_booked.html",
            _series_result(episode, [], details.get("conflicts", []), exc.message),
            status=409,
        )
    except InvalidInput as exc:
        return _series_form(request, episode, types, values, {"form": exc.message}, 422)
    return render(
        request,
        "care/series_booked.html",
        _series_result(episode, outcome.booked, outcome.conflicts, ""),
    )


def _series_result(
    episode: EpisodeView, booked: list[Any], conflicts: list[dict[str, Any]], message: str
) -> dict[str, Any]:
    missed = [
        {
            "date": date.fromisoformat(c["date"]),
            "why": "; ".join(_SERIES_PROBLEMS.get(p, p.replace("_", " ")) for p in c["problems"]),
        }
        for c in conflicts
    ]
    return {"episode": episode, "booked": booked, "missed": missed, "message": message}


# --- discharge -----------------------------------------------------------------------------------


@session_in_work
async def discharge_page(request: web.Request) -> web.StreamResponse:
    """The discharge form: how each goal ended, a summary, what to keep doing."""
    episode_id = path_uuid(request, "episode_id")
    episode, _catalog, _zone, clinician = await _episode(request, episode_id)
    if not clinician or not episode.active:
        raise web.HTTPSeeOther(f"/episodes/{episode_id}")
    return _discharge_form(request, episode, {}, {})


def _discharge_form(
    request: web.Request,
    episode: EpisodeView,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    outcomes = [s for s in GoalStatus if s is not GoalStatus.IN_PROGRESS]
    return render(
        request,
        "care/discharge.html",
        {"episode": episode, "values": values, "problems": problems, "outcomes": outcomes},
        status=status,
    )


@session_in_work
async def discharge_submit(request: web.Request) -> web.StreamResponse:
    """Close the episode with its discharge note."""
    episode_id = path_uuid(request, "episode_id")
    form = await read_form(request)
    values = {str(k): str(v)[:4000] for k, v in form.items() if isinstance(v, str)}
    outcomes: dict[str, GoalStatus] = {}
    problems: dict[str, str] = {}
    for key, value in values.items():
        if key.startswith("outcome_"):
            try:
                outcomes[key.removeprefix("outcome_")] = GoalStatus(value)
            except ValueError:
                problems["goals"] = "Say how each goal ended."
    if not problems:
        try:
            async with request_work(request) as uow:
                await service.discharge_in(
                    uow,
                    episode_id,
                    outcomes,
                    values.get("summary", ""),
                    values.get("keep_doing", ""),
                )
        except InvalidInput as exc:
            problems = _problems_of(exc) or {"form": exc.message}
    if problems:
        episode, _catalog, _zone, _clinician = await _episode(request, episode_id)
        return _discharge_form(request, episode, values, problems, 422)
    raise web.HTTPSeeOther(f"/episodes/{episode_id}")


# --- the patient's plan --------------------------------------------------------------------------


@session_in_work
async def my_plan_page(request: web.Request) -> web.StreamResponse:
    """The patient's plans of care in plain words: goals, how often, until when, and what each
    planned technique is for."""
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        if not uow.actor.is_patient:
            raise web.HTTPSeeOther("/caseload")
        catalog = await catalogs.current(uow.session)
        _name, episodes = await service.episodes_of_patient_in(uow, catalog, uow.actor.id)
        zone = uow.actor.time_zone
    return render(
        request,
        "care/my_plan.html",
        {"episodes": episodes, "catalog": catalog, "zone": zone, "modalities": MODALITIES},
    )


@session_in_work
async def patient_episodes_page(request: web.Request) -> web.StreamResponse:
    """A patient's episodes, for staff who may see them (from the chart)."""
    patient_id = path_uuid(request, "patient_id")
    catalogs = request.app[CATALOG]
    async with request_work(request, reads_only=True) as uow:
        if uow.actor.is_patient:
            raise web.HTTPSeeOther("/my/plan")
        catalog = await catalogs.current(uow.session)
        patient_name, episodes = await service.episodes_of_patient_in(uow, catalog, patient_id)
        zone = uow.actor.time_zone
        clinician = uow.actor.is_therapist
    return render(
        request,
        "care/patient_episodes.html",
        {
            "episodes": episodes,
            "patient_id": patient_id,
            "patient_name": patient_name,
            "zone": zone,
            "clinician": clinician,
        },
    )


def setup_routes(app: web.Application) -> None:
    """Add the plan-of-care pages."""
    app.router.add_get("/caseload", caseload_page)
    app.router.add_post("/caseload/episodes", open_episode_submit)
    app.router.add_get("/episodes/{episode_id}", episode_page)
    app.router.add_get("/episodes/{episode_id}/plan", plan_form_page)
    app.router.add_post("/episodes/{episode_id}/plan", plan_submit)
    app.router.add_get("/episodes/{episode_id}/plan/{version}", plan_version_page)
    app.router.add_post("/episodes/{episode_id}/certification", certification_submit)
    app.router.add_post("/episodes/{episode_id}/visits", link_visit_submit)
    app.router.add_get("/episodes/{episode_id}/book", series_page)
    app.router.add_post("/episodes/{episode_id}/book", series_submit)
    app.router.add_get("/episodes/{episode_id}/discharge", discharge_page)
    app.router.add_post("/episodes/{episode_id}/discharge", discharge_submit)
    app.router.add_get("/my/plan", my_plan_page)
    app.router.add_get("/patients/{patient_id}/episodes", patient_episodes_page)
