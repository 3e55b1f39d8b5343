"""The weekly series page for therapists and admins: a plan of care's visits booked from a form.

"Show the dates" previews every occurrence and says in words which would be refused and why,
booking nothing (`service.preview_series`); "Book the free dates" books the occurrences that
can be booked (`service.book_series`, the call behind `POST /api/v1/appointment-series`, in its
`book_available` mode) and lists what was booked and what was not.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from pydantic import Field

from telehealth.accounts import service as accounts
from telehealth.errors import DomainError, InvalidInput
from telehealth.http.context import caller_of, require_actor
from telehealth.http.forms import Form, parse_form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import reads_12_hour_clock, render
from telehealth.scheduling import service
from telehealth.scheduling.access import require_staff
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import WEEKDAY_NAMES
from telehealth.scheduling.booking_guide import long_date
from telehealth.scheduling.localtime import resolve_zone
from telehealth.scheduling.schemas import SeriesIn
from telehealth.scheduling.slots import BookingProblem
from telehealth.time_words import clock

# Each reason an occurrence is refused, as the page says it.
PROBLEM_WORDS = {
    BookingProblem.TOO_SOON: "too soon to book",
    BookingProblem.BEYOND_HORIZON: "too far ahead to book",
    BookingProblem.OUTSIDE_AVAILABILITY: "outside the therapist's hours, or the clinic is closed",
    BookingProblem.BUSY: "the therapist or the patient already has a visit then",
}
_FIELDS = ("patient_id", "therapist_id", "type", "modality", "time", "first_day", "weeks")


class SeriesForm(SeriesIn):
    """The form: the API's series body, with the ticked weekdays as one comma-joined field."""

    weekdays: str = Field(min_length=1, max_length=13, pattern=r"[0-6](,[0-6]){0,6}")  # type: ignore[assignment]


def _problem_words(problems: Any) -> str:
    words = []
    for problem in problems:
        try:
            words.append(PROBLEM_WORDS[BookingProblem(problem)])
        except ValueError:
            words.append(str(problem).replace("_", " "))
    return "; ".join(words) or "it cannot be booked"


async def _page(
    request: web.Request,
    typed: dict[str, Any],
    error: str | None = None,
    preview: list[dict[str, Any]] | None = None,
    booked: list[str] | None = None,
    status: int = 200,
) -> web.Response:
    services, caller = request.app[SERVICES], caller_of(request)
    actor = require_actor(request)
    return render(
        request,
        "scheduling/series.html",
        {
            "typed": typed,
            "patients": [p for p in await accounts.list_patients(services, caller) if p.is_active],
            "therapists": await availability_service.list_therapists(services, caller)
            if actor.is_admin
            else [],
            "types": await service.list_types(services, caller),
            "weekday_names": list(enumerate(WEEKDAY_NAMES)),
            "error": error,
            "preview": preview,
            "booked": booked,
        },
        status=status,
    )


async def series_page(request: web.Request) -> web.StreamResponse:
    """The empty series form (a patient may be chosen in advance: ?patient_id=)."""
    actor = require_actor(request)
    require_staff(actor)
    typed: dict[str, Any] = dict.fromkeys(_FIELDS, "")
    typed.update(
        patient_id=request.query.get("patient_id", "")[:64],
        modality="virtual",
        weeks="6",
        time="10:00",
        weekdays=[],
    )
    return await _page(request, typed)


def _typed(form: Form) -> dict[str, Any]:
    typed: dict[str, Any] = {
        name: value[:64] if isinstance(value := form.get(name, ""), str) else "" for name in _FIELDS
    }
    typed["weekdays"] = [w for w in form.getall("weekdays", []) if isinstance(w, str)][:7]
    return typed


def _request_of(form: Form, actor_id: uuid.UUID, is_admin: bool) -> service.SeriesRequest:
    fields: MultiDict[str | bytes | bytearray | web.FileField] = MultiDict(
        (k, v) for k, v in form.items() if k != "weekdays"
    )
    fields["weekdays"] = ",".join(sorted({str(w) for w in form.getall("weekdays", [])}))
    if not is_admin:
        fields["therapist_id"] = str(actor_id)  # a therapist books her own visits
    try:
        body = parse_form(MultiDictProxy(fields), SeriesForm)
    except InvalidInput as exc:
        named = (
            [str(d.get("field", "")) for d in exc.details] if isinstance(exc.details, list) else []
        )
        words = {
            "patient_id": "the patient",
            "therapist_id": "the therapist",
            "type": "the visit type",
            "modality": "how it is held",
            "weekdays": "at least one day of the week",
            "time": "the time, like 10:00",
            "first_day": "the first day, like 2026-03-09",
            "weeks": "the number of weeks, 1 to 26",
        }
        wanted = [words[n] for n in dict.fromkeys(named) if n in words] or ["the form"]
        raise InvalidInput(
            "Please choose or give " + ", ".join(wanted) + ".", details={"fields": named}
        ) from None
    return service.SeriesRequest(
        type_key=body.type,
        modality=body.modality,
        weekdays=frozenset(int(w) for w in body.weekdays.split(",")),
        wall_time=body.time,
        first_day=body.first_day,
        weeks=body.weeks,
        patient_id=body.patient_id,
        therapist_id=body.therapist_id,
        all_or_nothing=False,
    )


def _when(start: datetime, day: date, hour12: bool) -> str:
    return f"{long_date(day)} at {clock(start, hour12)}"


async def series_submit(request: web.Request) -> web.StreamResponse:
    """Preview the series, or book its free dates."""
    actor = require_actor(request)
    require_staff(actor)
    form = await read_form(request)
    typed = _typed(form)
    services, caller = request.app[SERVICES], caller_of(request)
    hour12 = reads_12_hour_clock(request)
    try:
        series = _request_of(form, actor.id, actor.is_admin)
        today = services.clock.now().astimezone(resolve_zone(actor.time_zone)).date()
        if series.first_day < today:
            # Said before planning: every date of it would only read "too soon".
            raise InvalidInput(
                f"The series starts in the past: {long_date(series.first_day)}."
                " Please choose today or a later first day.",
                details={"field": "first_day"},
            )
        if form.get("action") != "book":
            preview = await service.preview_series(services, caller, series)
            zone = resolve_zone(preview.zone)
            rows = [
                {
                    "when": _when(o.start.astimezone(zone), o.local_day, hour12),
                    "refused": None if o.bookable else _problem_words(o.problems),
                }
                for o in preview.plan.occurrences
            ]
            return await _page(request, typed, preview=rows)
        outcome = await service.book_series(services, caller, series)
    except DomainError as exc:
        message = exc.message
        conflicts = exc.details.get("conflicts") if isinstance(exc.details, dict) else None
        if conflicts:
            message = "None of these visits can be booked: " + "; ".join(
                f"{long_date(date.fromisoformat(c['date']))}: {_problem_words(c['problems'])}"
                for c in conflicts
            )
            message += ". Nothing was booked."
        return await _page(request, typed, error=message, status=exc.status)
    booked = [
        _when(v.local_start, v.local_start.date(), hour12)
        for v in sorted(outcome.booked, key=lambda v: v.row.start_at)
    ]
    refused = [
        f"{long_date(date.fromisoformat(c['date']))}: {_problem_words(c['problems'])}"
        for c in outcome.conflicts
    ]
    return await _page(
        request,
        typed,
        error=("Not booked: " + "; ".join(refused) + ".") if refused else None,
        booked=booked,
    )


def setup_routes(app: web.Application) -> None:
    """Add the series page."""
    app.router.add_get("/series", series_page)
    app.router.add_post("/series", series_submit)
