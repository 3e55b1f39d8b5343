"""The clinic's scheduling settings for admins: the days the clinic is closed, and the visit types.

Both pages call the same service functions as the API (`availability_service` for closures,
`service.update_type` for the API's PATCH of a type) and read their forms through the API's
models. A refused form comes back with the admin's words in it and the field marked.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from telehealth.accounts.access import require_admin
from telehealth.errors import DomainError, InvalidInput, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.forms import Form, parse_form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.scheduling import service
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.booking_guide import long_date
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.scheduling.schemas import ClosureIn, TypePatch

# --- clinic closures -----------------------------------------------------------------------------

_CLOSURE_FIELDS = ("day", "reason")
_DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _typed(form: Form, names: tuple[str, ...], limit: int = 2000) -> dict[str, str]:
    """The form's text as typed, to be shown again (NUL and the like never reach here:
    read_form refuses them)."""
    return {
        name: value[:limit] if isinstance(value := form.get(name, ""), str) else ""
        for name in names
    }


def _query_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if _DAY_TEXT.fullmatch(text) else None
    except ValueError:
        return None


async def _closures(
    request: web.Request,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    rows = await availability_service.list_closures(request.app[SERVICES], caller_of(request))
    closed, reopened = (_query_day(request.query.get(k, "")) for k in ("closed", "reopened"))
    notice = None
    if closed is not None and error is None:
        notice = f"The clinic is closed on {long_date(closed)}."
    elif reopened is not None and error is None:
        notice = f"The clinic is open again on {long_date(reopened)}."
    return render(
        request,
        "scheduling/closures.html",
        {
            "closures": [(r.day, long_date(r.day), r.reason) for r in rows],
            "typed": typed or dict.fromkeys(_CLOSURE_FIELDS, ""),
            "error": error,
            "notice": notice,
        },
        status=status,
    )


async def closures_page(request: web.Request) -> web.StreamResponse:
    """The days the clinic is closed, a form to close one, and a button to reopen each."""
    require_admin(require_actor(request))
    return await _closures(request)


async def closure_submit(request: web.Request) -> web.StreamResponse:
    """Close the clinic for a day."""
    require_admin(require_actor(request))
    form = await read_form(request)
    typed = _typed(form, _CLOSURE_FIELDS, 200)
    try:
        try:
            body = parse_form(form, ClosureIn)
        except InvalidInput:
            raise InvalidInput(
                "Please give the date as a calendar day, for example 2026-12-24,"
                " and a reason of at most 200 characters."
            ) from None
        await availability_service.close_day(
            request.app[SERVICES], caller_of(request), body.day, body.reason
        )
    except DomainError as exc:
        return await _closures(request, exc.message, typed, exc.status)
    raise web.HTTPSeeOther(f"/admin/closures?closed={body.day.isoformat()}")


async def closure_reopen(request: web.Request) -> web.StreamResponse:
    """Reopen a closed day."""
    require_admin(require_actor(request))
    await read_form(request)  # the CSRF token is checked on the way in; nothing else is read
    day = _query_day(request.match_info["day"])
    try:
        if day is None:
            raise NotFound("The clinic is not closed that day.")
        await availability_service.remove_closure(request.app[SERVICES], caller_of(request), day)
    except NotFound as exc:
        return await _closures(request, f"{exc.message} Nothing was changed.", status=404)
    raise web.HTTPSeeOther(f"/admin/closures?reopened={day.isoformat()}")


# --- visit types ---------------------------------------------------------------------------------

# The form's labels: what the page calls each field, in refusals too.
LABELS = {
    "name": "Name",
    "duration_minutes": "Length of the visit",
    "buffer_before_minutes": "Free time before",
    "buffer_after_minutes": "Free time after",
    "min_notice_minutes": "Shortest notice to book",
    "booking_horizon_minutes": "Furthest ahead to book",
    "cancellation_cutoff_minutes": "Late-cancellation window",
    "modalities": "Held",
    "patient_bookable": "Patients may book it online",
    "is_active": "Offered",
    "display_order": "Place in lists",
}
_TYPE_FIELDS = tuple(LABELS)
# The type rules' own names for fields (appointment_types._type_problems) -> the form's.
_RULE_FIELDS = {
    "name": "name",
    "duration": "duration_minutes",
    "buffer_before": "buffer_before_minutes",
    "buffer_after": "buffer_after_minutes",
    "min_notice": "min_notice_minutes",
    "booking_horizon": "booking_horizon_minutes",
    "cancellation_cutoff": "cancellation_cutoff_minutes",
    "display_order": "display_order",
}
_MODALITIES = {
    "virtual": ("virtual",),
    "in_clinic": ("in_clinic",),
    "both": ("virtual", "in_clinic"),
}


class VisitTypeForm(TypePatch):
    """The edit form: the API's PATCH fields, with "held" as one choice instead of a list."""

    modalities: Literal["virtual", "in_clinic", "both"] | None = Field(default=None)  # type: ignore[assignment]


def _shown(row: AppointmentTypeRow) -> dict[str, str]:
    """A stored type as the form shows it."""
    mods = set(row.modalities)
    held = "both" if mods == {"virtual", "in_clinic"} else next(iter(mods), "virtual")
    values: dict[str, str] = {
        name: str(getattr(row, name)) for name in _TYPE_FIELDS if name.endswith("_minutes")
    }
    values.update(
        name=row.name,
        modalities=held,
        patient_bookable="true" if row.patient_bookable else "false",
        is_active="true" if row.is_active else "false",
        display_order=str(row.display_order),
    )
    return values


def _plain_problems(exc: InvalidInput) -> tuple[str, list[str]]:
    """A refusal of the type's rules or of the form's model, in the form's words, and the fields
    it is about."""
    details: Any = exc.details
    if isinstance(details, list):  # the model: each field that could not be read
        fields = [f for f in (str(d.get("field", "")) for d in details) if f in LABELS]
        words = ", ".join(LABELS[f] for f in fields) or "the form"
        return (
            f"Please check {words}: give each a value; times are whole numbers of minutes.",
            fields,
        )
    problems = details.get("problems", []) if isinstance(details, dict) else []
    sentences, fields = [], []
    for problem in problems:
        rule_name, _, rest = str(problem).partition(" ")
        field = _RULE_FIELDS.get(rule_name)
        if field is None:
            sentences.append(str(problem).capitalize() + ".")
            continue
        fields.append(field)
        for other, other_field in _RULE_FIELDS.items():
            rest = re.sub(rf"\b{other}\b", LABELS[other_field].lower(), rest)
        sentences.append(f"{LABELS[field]} {rest}.")
    return (" ".join(sentences) or exc.message), fields


async def _type_row(request: web.Request, type_id: uuid.UUID) -> AppointmentTypeRow:
    rows = await service.list_types(request.app[SERVICES], caller_of(request), True)
    row = next((r for r in rows if r.id == type_id), None)
    if row is None:
        raise NotFound("No such visit type.")
    return row


async def visit_types_page(request: web.Request) -> web.StreamResponse:
    """Every visit type with its timing and booking policy, in display order."""
    require_admin(require_actor(request))
    rows = await service.list_types(request.app[SERVICES], caller_of(request), True)
    saved = request.query.get("saved", "")
    return render(
        request,
        "scheduling/visit_types.html",
        {
            "types": rows,
            "notice": next((f"{r.name} is saved." for r in rows if r.key == saved), None),
        },
    )


def _visit_type_form(
    request: web.Request,
    row: AppointmentTypeRow,
    values: dict[str, str],
    error: str | None = None,
    error_fields: list[str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "scheduling/visit_type.html",
        {
            "row": row,
            "values": values,
            "labels": LABELS,
            "error": error,
            "error_fields": error_fields or [],
        },
        status=status,
    )


async def visit_type_page(request: web.Request) -> web.StreamResponse:
    """One visit type's edit form."""
    require_admin(require_actor(request))
    row = await _type_row(request, path_uuid(request, "type_id"))
    return _visit_type_form(request, row, _shown(row))


async def visit_type_submit(request: web.Request) -> web.StreamResponse:
    """Save one visit type through the service call the API's PATCH makes."""
    require_admin(require_actor(request))
    type_id = path_uuid(request, "type_id")
    form = await read_form(request)
    row = await _type_row(request, type_id)
    typed = _typed(form, _TYPE_FIELDS, 200)
    try:
        # An emptied field would read as "not given" and keep its old value without a word.
        empty = [name for name in _TYPE_FIELDS if not typed[name].strip()]
        if empty:
            raise InvalidInput("empty", details=[{"field": name} for name in empty])
        body = parse_form(form, VisitTypeForm)
        fields: dict[str, Any] = body.model_dump(exclude_unset=True)
        if body.modalities is not None:
            fields["modalities"] = _MODALITIES[body.modalities]
        saved = await service.update_type(
            request.app[SERVICES], caller_of(request), type_id, service.TypeChanges(**fields)
        )
    except InvalidInput as exc:
        words, fields_wrong = _plain_problems(exc)
        return _visit_type_form(request, row, typed, words, fields_wrong, 422)
    raise web.HTTPSeeOther(f"/admin/visit-types?saved={saved.key}")


def setup_routes(app: web.Application) -> None:
    """Add the admin's scheduling settings pages."""
    app.router.add_get("/admin/closures", closures_page)
    app.router.add_post("/admin/closures", closure_submit)
    app.router.add_post("/admin/closures/{day}/reopen", closure_reopen)
    app.router.add_get("/admin/visit-types", visit_types_page)
    app.router.add_get("/admin/visit-types/{type_id}", visit_type_page)
    app.router.add_post("/admin/visit-types/{type_id}", visit_type_submit)
