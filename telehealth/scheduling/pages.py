"""Scheduling pages: booking, one visit, the therapist's agenda and hours, the admin calendar.

Every page works without JavaScript (plain forms, server-rendered slots); ``agenda.js`` only adds
live statuses. Form times are local wall-clock times in the viewer's zone, converted once with
``localtime.local_to_utc`` so a form filled in on a DST day means what the person read.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from telehealth.accounts import service as accounts
from telehealth.accounts.access import require_admin
from telehealth.accounts.models import Role
from telehealth.actors import Actor
from telehealth.errors import Conflict, DomainError, InvalidInput, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.scheduling import service
from telehealth.scheduling.access import require_staff
from telehealth.scheduling.availability import (
    WEEKDAY_NAMES,
    DateException,
    ExceptionKind,
    WeeklyBlock,
)
from telehealth.scheduling.lifecycle import Action
from telehealth.scheduling.localtime import local_day_start, local_to_utc, resolve_zone

# Zones offered in pickers; any IANA name also works through the API.
COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
)
BOOKING_DAYS = 7
MAX_WEEKS_AHEAD = 12


def _form_str(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such object.") from None


def _local_instant(day_text: str, time_text: str, zone: str) -> datetime:
    try:
        day = date.fromisoformat(day_text)
        wall = time.fromisoformat(time_text)
    except ValueError:
        raise InvalidInput("Please give a date and a time.", details={"field": "start"}) from None
    return local_to_utc(day, wall.replace(second=0, microsecond=0), resolve_zone(zone))


def _group_by_day(items: list[Any], key: Any) -> list[tuple[date, list[Any]]]:
    groups: dict[date, list[Any]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return sorted(groups.items())


# --- booking -------------------------------------------------------------------------------------


async def book_page(request: web.Request) -> web.StreamResponse:
    """Choose a type and modality, then a slot, grouped by day in the patient's zone."""
    actor = require_actor(request)
    services, caller = request.app[SERVICES], caller_of(request)
    types = await service.list_types(services, caller)
    type_key = request.query.get("type", "")
    chosen = next((t for t in types if t.key == type_key), None)
    modality = request.query.get("modality", "")
    if chosen is not None and len(chosen.modalities) == 1:
        modality = chosen.modalities[0]
    try:
        week = min(max(int(request.query.get("week", "0")), 0), MAX_WEEKS_AHEAD)
    except ValueError:
        week = 0
    therapist_id = _uuid(request.query.get("therapist_id"))
    therapists = await service.list_therapists(services, caller)
    days: list[tuple[date, list[service.FoundSlot]]] = []
    error = None
    if chosen is not None and modality in chosen.modalities:
        zone = resolve_zone(actor.time_zone)
        now = services.clock.now()
        first_day = now.astimezone(zone).date() + timedelta(days=7 * week)
        start = max(now, local_day_start(first_day, zone))
        end = local_day_start(first_day + timedelta(days=BOOKING_DAYS), zone)
        try:
            result = await service.search_slots(
                services,
                caller,
                service.SlotQuery(
                    type_key=chosen.key,
                    modality=modality,
                    start=start,
                    end=end,
                    therapist_id=therapist_id,
                    limit=400,
                ),
            )
            days = _group_by_day(result.slots, lambda f: f.slot.local_start.date())
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "scheduling/book.html",
        {
            "types": types,
            "chosen": chosen,
            "modality": modality,
            "days": days,
            "week": week,
            "max_week": MAX_WEEKS_AHEAD,
            "therapists": therapists,
            "therapist_id": therapist_id,
            "error": error,
        },
    )


async def confirm_page(request: web.Request) -> web.StreamResponse:
    """Confirm one slot before booking it."""
    actor = require_actor(request)
    services, caller = request.app[SERVICES], caller_of(request)
    types = {t.key: t for t in await service.list_types(services, caller)}
    chosen = types.get(request.query.get("type", ""))
    if chosen is None:
        raise web.HTTPSeeOther("/book")
    try:
        start = datetime.fromisoformat(request.query.get("start", ""))
    except ValueError:
        raise web.HTTPSeeOther(f"/book?type={chosen.key}") from None
    therapist_id = _uuid(request.query.get("therapist_id"))
    therapists = {t.id: t for t in await service.list_therapists(services, caller)}
    therapist = therapists.get(therapist_id) if therapist_id else None
    if therapist is None or start.tzinfo is None:
        raise web.HTTPSeeOther(f"/book?type={chosen.key}")
    return render(
        request,
        "scheduling/confirm.html",
        {
            "chosen": chosen,
            "modality": request.query.get("modality", ""),
            "start": start,
            "end": start + timedelta(minutes=chosen.duration_minutes),
            "zone": actor.time_zone,
            "therapist": therapist,
            # One key per rendered form: a double click or a resubmitted form books once.
            "request_key": secrets.token_urlsafe(16),
            "error": None,
        },
    )


async def book_submit(request: web.Request) -> web.StreamResponse:
    """Book the confirmed slot (patients for themselves; staff through the admin calendar)."""
    require_actor(request)
    form = await request.post()
    try:
        start = datetime.fromisoformat(_form_str(form, "start", 64))
    except ValueError:
        raise web.HTTPSeeOther("/book") from None
    booking = service.BookingRequest(
        type_key=_form_str(form, "type", 48),
        modality=_form_str(form, "modality", 16),
        start=start,
        therapist_id=_uuid(_form_str(form, "therapist_id", 64)),
        patient_id=_uuid(_form_str(form, "patient_id", 64)),
        reason=_form_str(form, "reason", 500),
    )
    key = _form_str(form, "request_key", 64)
    idem = (
        service.Idempotency("page-" + key, service.fingerprint("/book", booking.__dict__))
        if key
        else None
    )
    try:
        answer = await service.book_appointment(
            request.app[SERVICES],
            caller_of(request),
            booking,
            lambda view: {"id": str(view.row.id)},
            idem,
        )
    except DomainError as exc:
        back = f"/book?type={booking.type_key}&modality={booking.modality}"
        return render(
            request,
            "scheduling/message.html",
            {"title": "That time could not be booked", "message": exc.message, "back": back},
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/appointments/{answer.body['id']}?booked=1")


# --- one appointment -----------------------------------------------------------------------------


async def _detail(
    request: web.Request, appointment_id: uuid.UUID, error: str | None = None, status: int = 200
) -> web.Response:
    view = await service.get_appointment(request.app[SERVICES], caller_of(request), appointment_id)
    notice = "Your visit is booked." if request.query.get("booked") else None
    return render(
        request,
        "scheduling/appointment.html",
        {
            "view": view,
            "actions": {a.value for a in view.actions},
            "error": error,
            "notice": notice,
            "status_label": view.row.status.replace("_", " "),
        },
        status=status,
    )


async def appointment_page(request: web.Request) -> web.StreamResponse:
    """One visit: when, with whom, join and calendar links, and what may be done now."""
    require_actor(request)
    return await _detail(request, path_uuid(request, "appointment_id"))


async def appointment_action(request: web.Request) -> web.StreamResponse:
    """Check in, start, complete, cancel or record a no-show from the page."""
    require_actor(request)
    appointment_id = path_uuid(request, "appointment_id")
    form = await request.post()
    try:
        action = Action(_form_str(form, "action", 32))
    except ValueError:
        raise NotFound("No such action.") from None
    try:
        await service.act(
            request.app[SERVICES],
            caller_of(request),
            appointment_id,
            action,
            _form_str(form, "reason", 500),
        )
    except (InvalidInput, Conflict) as exc:
        return await _detail(request, appointment_id, exc.message, exc.status)
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}")


async def reschedule_submit(request: web.Request) -> web.StreamResponse:
    """Move the visit to a new local date and time."""
    actor = require_actor(request)
    appointment_id = path_uuid(request, "appointment_id")
    form = await request.post()
    try:
        start = _local_instant(_form_str(form, "day"), _form_str(form, "time"), actor.time_zone)
        version = int(_form_str(form, "version") or "0") or None
        await service.reschedule(
            request.app[SERVICES], caller_of(request), appointment_id, start, version
        )
    except ValueError:
        return await _detail(request, appointment_id, "Please reload the page.", 422)
    except (InvalidInput, Conflict) as exc:
        return await _detail(request, appointment_id, exc.message, exc.status)
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}")


# --- therapist agenda and hours ------------------------------------------------------------------


def _range(actor: Actor, query: Any, now: datetime) -> tuple[str, date, datetime, datetime]:
    zone = resolve_zone(actor.time_zone)
    view = "week" if query.get("view") == "week" else "day"
    try:
        day = date.fromisoformat(query.get("day", ""))
    except ValueError:
        day = now.astimezone(zone).date()
    if view == "week":
        day -= timedelta(days=day.weekday())
    length = 7 if view == "week" else 1
    return (
        view,
        day,
        local_day_start(day, zone),
        local_day_start(day + timedelta(days=length), zone),
    )


async def agenda_page(request: web.Request) -> web.StreamResponse:
    """A therapist's day or week with live statuses (admins may look at any therapist's)."""
    actor = require_actor(request)
    require_staff(actor)
    view, day, start, end = _range(actor, request.query, request.app[SERVICES].clock.now())
    therapist_id = _uuid(request.query.get("therapist_id")) if actor.is_admin else actor.id
    views = await service.list_appointments(
        request.app[SERVICES],
        caller_of(request),
        service.ListQuery(start=start, end=end, therapist_id=therapist_id),
    )
    step = timedelta(days=7 if view == "week" else 1)
    return render(
        request,
        "scheduling/agenda.html",
        {
            "view": view,
            "day": day,
            "prev": day - step,
            "next": day + step,
            "start": start,
            "end": end,
            "therapist_id": therapist_id,
            "days": _group_by_day(views, lambda v: v.local_start.date()),
        },
    )


async def availability_page(request: web.Request) -> web.StreamResponse:
    """The weekly hours editor and date exceptions."""
    actor = require_actor(request)
    therapist_id = _uuid(request.query.get("therapist_id")) or actor.id
    return await _availability(request, therapist_id)


async def _availability(
    request: web.Request,
    therapist_id: uuid.UUID,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    view = await service.get_availability(request.app[SERVICES], caller_of(request), therapist_id)
    rows: list[list[tuple[str, str]]] = [[] for _ in range(7)]
    for block in view.weekly:
        rows[block.weekday].append(
            (block.start_local.strftime("%H:%M"), block.end_local.strftime("%H:%M"))
        )
    for spans in rows:
        while len(spans) < 2:
            spans.append(("", ""))
    zones = COMMON_ZONES if view.zone in COMMON_ZONES else (view.zone, *COMMON_ZONES)
    return render(
        request,
        "scheduling/availability.html",
        {
            "view": view,
            "rows": list(enumerate(rows)),
            "weekday_names": WEEKDAY_NAMES,
            "zones": zones,
            "error": error,
            "saved": saved,
        },
        status=status,
    )


async def availability_submit(request: web.Request) -> web.StreamResponse:
    """Save the weekly pattern (two blocks a day at most on this form)."""
    require_actor(request)
    form = await request.post()
    therapist_id = _uuid(_form_str(form, "therapist_id", 64))
    target = therapist_id or require_actor(request).id
    blocks: list[WeeklyBlock] = []
    try:
        for weekday in range(7):
            for n in range(2):
                start = _form_str(form, f"d{weekday}_{n}_start", 5)
                end = _form_str(form, f"d{weekday}_{n}_end", 5)
                if start or end:
                    try:
                        blocks.append(
                            WeeklyBlock(weekday, time.fromisoformat(start), time.fromisoformat(end))
                        )
                    except ValueError:
                        raise InvalidInput(
                            f"{WEEKDAY_NAMES[weekday]}: give both a start and an end time."
                        ) from None
        await service.set_weekly_hours(
            request.app[SERVICES],
            caller_of(request),
            target,
            _form_str(form, "time_zone", 64),
            blocks,
        )
    except InvalidInput as exc:
        return await _availability(request, target, exc.message, status=422)
    return await _availability(request, target, saved=True)


async def exception_submit(request: web.Request) -> web.StreamResponse:
    """Add time off or extra hours."""
    require_actor(request)
    form = await request.post()
    target = _uuid(_form_str(form, "therapist_id", 64)) or require_actor(request).id
    try:
        try:
            day = date.fromisoformat(_form_str(form, "day", 10))
            start_text, end_text = _form_str(form, "start", 5), _form_str(form, "end", 5)
            start = time.fromisoformat(start_text) if start_text else None
            end = time.fromisoformat(end_text) if end_text else None
            kind = ExceptionKind(_form_str(form, "kind", 16))
        except ValueError:
            raise InvalidInput("Please give a date, and both times or none.") from None
        await service.add_exception(
            request.app[SERVICES],
            caller_of(request),
            target,
            DateException(day, kind, start, end),
            _form_str(form, "note", 200),
        )
    except InvalidInput as exc:
        return await _availability(request, target, exc.message, status=422)
    raise web.HTTPSeeOther(f"/availability?therapist_id={target}")


async def exception_delete(request: web.Request) -> web.StreamResponse:
    """Remove an exception."""
    require_actor(request)
    form = await request.post()
    target = _uuid(_form_str(form, "therapist_id", 64)) or require_actor(request).id
    await service.remove_exception(
        request.app[SERVICES], caller_of(request), target, path_uuid(request, "exception_id")
    )
    raise web.HTTPSeeOther(f"/availability?therapist_id={target}")


# --- admin calendar ------------------------------------------------------------------------------


async def admin_calendar(request: web.Request) -> web.StreamResponse:
    """Every therapist's week, and booking for a patient."""
    actor = require_actor(request)
    require_admin(actor)
    return await _admin_calendar(request, actor)


async def _admin_calendar(
    request: web.Request, actor: Actor, error: str | None = None, status: int = 200
) -> web.Response:
    services, caller = request.app[SERVICES], caller_of(request)
    query = dict(request.query)
    query["view"] = "week"
    _, day, start, end = _range(actor, query, services.clock.now())
    views = await service.list_appointments(
        services, caller, service.ListQuery(start=start, end=end)
    )
    patients, _ = await accounts.list_people(services, caller, Role.PATIENT, 500, 0)
    return render(
        request,
        "scheduling/admin_calendar.html",
        {
            "day": day,
            "prev": day - timedelta(days=7),
            "next": day + timedelta(days=7),
            "days": _group_by_day(views, lambda v: v.local_start.date()),
            "patients": [p for p in patients if p.is_active],
            "therapists": await service.list_therapists(services, caller),
            "types": await service.list_types(services, caller),
            "request_key": secrets.token_urlsafe(16),
            "error": error,
        },
        status=status,
    )


async def admin_book_submit(request: web.Request) -> web.StreamResponse:
    """An admin books for a patient at a local date and time (in the admin's zone)."""
    actor = require_actor(request)
    require_admin(actor)
    form = await request.post()
    try:
        booking = service.BookingRequest(
            type_key=_form_str(form, "type", 48),
            modality=_form_str(form, "modality", 16),
            start=_local_instant(_form_str(form, "day"), _form_str(form, "time"), actor.time_zone),
            therapist_id=_uuid(_form_str(form, "therapist_id", 64)),
            patient_id=_uuid(_form_str(form, "patient_id", 64)),
            reason=_form_str(form, "reason", 500),
        )
        key = _form_str(form, "request_key", 64)
        answer = await service.book_appointment(
            request.app[SERVICES],
            caller_of(request),
            booking,
            lambda view: {"id": str(view.row.id)},
            service.Idempotency(
                "page-" + key, service.fingerprint("/admin/calendar", booking.__dict__)
            )
            if key
            else None,
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        return await _admin_calendar(request, actor, exc.message, exc.status)
    raise web.HTTPSeeOther(f"/appointments/{answer.body['id']}?booked=1")


def setup_routes(app: web.Application) -> None:
    """Add the scheduling pages."""
    app.router.add_get("/book", book_page)
    app.router.add_get("/book/confirm", confirm_page)
    app.router.add_post("/book", book_submit)
    app.router.add_get("/appointments/{appointment_id}", appointment_page)
    app.router.add_post("/appointments/{appointment_id}/action", appointment_action)
    app.router.add_post("/appointments/{appointment_id}/reschedule", reschedule_submit)
    app.router.add_get("/agenda", agenda_page)
    app.router.add_get("/availability", availability_page)
    app.router.add_post("/availability", availability_submit)
    app.router.add_post("/availability/exceptions", exception_submit)
    app.router.add_post("/availability/exceptions/{exception_id}/delete", exception_delete)
    app.router.add_get("/admin/calendar", admin_calendar)
    app.router.add_post("/admin/calendar/book", admin_book_submit)
