"""Scheduling pages: booking, one visit, the therapist's agenda and hours, the admin calendar.

Every page works without JavaScript (plain forms, server-rendered slots); ``agenda.js`` only adds
live statuses. Form times are local wall-clock times in the viewer's zone, converted once with
``localtime.local_to_utc`` so a form filled in on a DST day means what the person read.
Moving a visit uses the booking's slot picker (``scheduling/_slot_picker.html``), so nobody types
a time blind; refusals are shown as plain sentences with the next step (``plain_refusal``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from telehealth import idempotency
from telehealth.accounts import service as accounts
from telehealth.accounts.access import require_admin
from telehealth.accounts.models import Role
from telehealth.actors import Actor
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, DomainError, InvalidInput, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.context import caller_of, require_actor
from telehealth.http.forms import parse_form, read_form
from telehealth.http.keys import CALENDAR_CHANGES, SERVICES
from telehealth.http.templates import reads_12_hour_clock, render
from telehealth.scheduling import booking_guide, grid_pages, hours_form, service
from telehealth.scheduling.access import require_staff
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import (
    WEEKDAY_NAMES,
    DateException,
    ExceptionKind,
)
from telehealth.scheduling.lifecycle import Action, AppointmentState, Status, is_late_cancellation
from telehealth.scheduling.localtime import local_day_start, local_to_utc, resolve_zone
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.scheduling.schemas import BookingIn, ExceptionIn
from telehealth.time_words import clock
from telehealth.zones import COMMON_ZONES

BOOKING_DAYS = 7
_SLOT_START = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([+-]\d{2}:\d{2}|Z)")
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


def _instant(text: str) -> datetime:
    """A slot's start as the picker sends it: an ISO instant with its offset."""
    instant = None
    # Only the shape the picker writes: fromisoformat alone lets odd separators (even NUL) through.
    if _SLOT_START.fullmatch(text):
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidInput(
            "That time could not be read. Please choose a time from the list.",
            details={"field": "start"},
        )
    return instant


def _version(text: str) -> int | None:
    """The version the page was drawn from (none: the move is not tied to one)."""
    if not text:
        return None
    try:
        return int(text) or None
    except ValueError:
        raise InvalidInput(
            "The page was out of date. Please reload it and try again.",
            details={"field": "version"},
        ) from None


def spoken_time(local: datetime, hour12: bool) -> str:
    """A time as a person says it, in the zone local carries and the reader's clock:
    "Tue 10 Mar at 9:00 AM" or "Tue 10 Mar at 09:00"."""
    return f"{local:%a} {local.day} {local:%b} at {clock(local, hour12)}"


def _span_words(span: timedelta) -> str:
    hours, minutes = divmod(int(span.total_seconds()) // 60, 60)
    if minutes:
        return f"{hours * 60 + minutes} minutes"
    return f"{hours} hour{'s' if hours != 1 else ''}"


# The next step to offer for each refusal, in the words of a person reading the page.
_NEXT_STEPS = {
    ErrorCode.TOO_LATE: "Please call the clinic to change it.",
    ErrorCode.SLOT_TAKEN: "Please choose another time.",
    ErrorCode.THERAPIST_BUSY: "Please choose another time.",
    ErrorCode.PATIENT_BUSY: "Please choose another time.",
    ErrorCode.OUTSIDE_AVAILABILITY: "Please choose another time.",
    ErrorCode.TOO_SOON: "Please choose a later time, or call the clinic.",
    ErrorCode.BEYOND_HORIZON: "Please choose an earlier time, or call the clinic.",
    ErrorCode.STALE_VERSION: "Please choose the time again.",
    ErrorCode.NOTE_SIGNED: "Please call the clinic if something about this visit needs to change.",
    ErrorCode.BUSY_RETRY: "Please try again in a moment.",
    ErrorCode.TOO_EARLY: "Please try again closer to the start.",
}


def plain_refusal(exc: DomainError, what: str) -> str:
    """A refusal as a plain sentence with a capital letter, and what to do next."""
    if exc.code == ErrorCode.TOO_LATE:
        text = f"It is too late to {what} this visit online."
    elif exc.code in (ErrorCode.SLOT_TAKEN, ErrorCode.THERAPIST_BUSY):
        text = "That time was taken in the meantime."
    elif exc.code == ErrorCode.STALE_VERSION:
        text = "This visit was changed by someone else while you were choosing."
    else:
        text = exc.message.strip().rstrip(".")
        text = (text[:1].upper() + text[1:] + ".") if text else "That did not work."
    step = _NEXT_STEPS.get(exc.code, "If this keeps happening, please call the clinic.")
    return text if step in text else f"{text} {step}"


def _group_by_day(items: list[Any], key: Any) -> list[tuple[date, list[Any]]]:
    groups: dict[date, list[Any]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return sorted(groups.items())


# --- booking -------------------------------------------------------------------------------------


def policy_of(kind: AppointmentTypeRow) -> booking_guide.Policy:
    """A stored type's booking and cancellation policy, in sentences."""
    return booking_guide.policy_words(
        timedelta(minutes=kind.min_notice_minutes),
        timedelta(minutes=kind.cancellation_cutoff_minutes),
    )


def _staff_only_refusal(
    key: str, offered: list[AppointmentTypeRow], every: list[AppointmentTypeRow]
) -> str | None:
    """The refusal for a type the reader may not book (a crafted or an old link), else None."""
    if not key or any(t.key == key for t in offered):
        return None
    kind = next((t for t in every if t.key == key), None)
    return None if kind is None else booking_guide.booked_by_staff_words(kind.name)


def picker_days(
    slots: list[service.FoundSlot], today: date, one_per_time: bool
) -> list[booking_guide.Day[service.FoundSlot]]:
    """A week of free slots as the picker shows them: by day and part of day, each time once when
    the patient asked for anyone available."""
    if one_per_time:
        slots = booking_guide.first_per_start(slots, lambda f: f.slot.start)
    return booking_guide.group_slots(slots, lambda f: f.slot.local_start, today)


@session_in_work
async def book_page(request: web.Request) -> web.StreamResponse:
    """Choose a type and modality, then a slot, grouped by day and part of day in the patient's zone."""
    services = request.app[SERVICES]
    try:
        week = min(max(int(request.query.get("week", "0")), 0), MAX_WEEKS_AHEAD)
    except ValueError:
        week = 0
    therapist_id = _uuid(request.query.get("therapist_id"))
    type_key = request.query.get("type", "")
    modality = request.query.get("modality", "")
    days: list[booking_guide.Day[service.FoundSlot]] = []
    next_slot = None
    now = services.clock.now()
    # One unit of work for the page: the session, the types, the therapists and the free slots.
    async with request_work(request, reads_only=True) as uow:
        actor = uow.actor
        zone = resolve_zone(actor.time_zone)
        every = await service.list_types_in(uow)
        types = booking_guide.types_for(every, actor.is_patient)
        chosen = next((t for t in types if t.key == type_key), None)
        refused = _staff_only_refusal(type_key, types, every)
        error = refused
        if chosen is not None and len(chosen.modalities) == 1:
            modality = chosen.modalities[0]
        therapists = await availability_service.list_therapists_in(uow)
        if chosen is not None and modality in chosen.modalities:
            first_day = now.astimezone(zone).date() + timedelta(days=7 * week)
            start = max(now, local_day_start(first_day, zone))
            end = local_day_start(first_day + timedelta(days=BOOKING_DAYS), zone)
            try:
                result = await service.search_slots_in(
                    uow,
                    service.SlotQuery(
                        type_key=chosen.key,
                        modality=modality,
                        start=start,
                        end=end,
                        therapist_id=therapist_id,
                        # The whole week: grouped by part of day, it stays a short page.
                        limit=service.MAX_SLOT_LIMIT,
                    ),
                )
                days = picker_days(result.slots, now.astimezone(zone).date(), therapist_id is None)
                next_slot = result.slots[0] if result.slots and week == 0 else None
            except DomainError as exc:
                error = exc.message
    return render(
        request,
        "scheduling/book.html",
        {
            "types": types,
            "policies": {t.key: policy_of(t) for t in types},
            "chosen": chosen,
            "modality": modality,
            "days": days,
            "next_slot": next_slot,
            "today": now.astimezone(zone).date(),
            "week": week,
            "max_week": MAX_WEEKS_AHEAD,
            "therapists": therapists,
            "therapist_id": therapist_id,
            "therapist_name": next(
                (t.display_name for t in therapists if t.id == therapist_id), "Anyone available"
            ),
            "error": error,
        },
        status=403 if refused else 200,
    )


@session_in_work
async def confirm_page(request: web.Request) -> web.StreamResponse:
    """Confirm one slot before booking it: the visit, the policy, and a warning when the time is
    already inside the late-cancellation window."""
    services = request.app[SERVICES]
    async with request_work(request, reads_only=True) as uow:
        actor = uow.actor
        every = await service.list_types_in(uow)
        therapists = {t.id: t for t in await availability_service.list_therapists_in(uow)}
    offered = booking_guide.types_for(every, actor.is_patient)
    type_key = request.query.get("type", "")
    refusal = _staff_only_refusal(type_key, offered, every)
    if refusal is not None:
        return render(
            request,
            "scheduling/message.html",
            {
                "title": "This visit cannot be booked online",
                "message": refusal,
                "back": "/book",
                "back_label": "Choose a visit type",
            },
            status=403,
        )
    chosen = next((t for t in offered if t.key == type_key), None)
    if chosen is None:
        raise web.HTTPSeeOther("/book")
    try:
        start = datetime.fromisoformat(request.query.get("start", ""))
    except ValueError:
        raise web.HTTPSeeOther(f"/book?type={chosen.key}") from None
    therapist_id = _uuid(request.query.get("therapist_id"))
    therapist = therapists.get(therapist_id) if therapist_id else None
    if therapist is None or start.tzinfo is None:
        raise web.HTTPSeeOther(f"/book?type={chosen.key}")
    now, zone = services.clock.now(), resolve_zone(actor.time_zone)
    local_day = start.astimezone(zone).date()
    return render(
        request,
        "scheduling/confirm.html",
        {
            "chosen": chosen,
            "modality": request.query.get("modality", ""),
            "start": start,
            "end": start + timedelta(minutes=chosen.duration_minutes),
            "zone": actor.time_zone,
            "day_text": booking_guide.day_words(local_day, now.astimezone(zone).date()),
            "date_text": booking_guide.long_date(local_day),
            "therapist": therapist,
            "policy": policy_of(chosen),
            "late_warning": booking_guide.late_window_warning(
                start, now, timedelta(minutes=chosen.cancellation_cutoff_minutes)
            ),
            # One key per rendered form: a double click or a resubmitted form books once.
            "request_key": secrets.token_urlsafe(16),
            "error": None,
        },
    )


async def book_submit(request: web.Request) -> web.StreamResponse:
    """Book the confirmed slot (patients for themselves; staff through the admin calendar)."""
    require_actor(request)
    form = await read_form(request)
    try:
        body = parse_form(form, BookingIn)
    except InvalidInput:
        # The confirm page's fields are hidden: only an altered or stale form lands here.
        raise web.HTTPSeeOther("/book") from None
    booking = service.BookingRequest(
        type_key=body.type,
        modality=body.modality,
        start=body.start,
        therapist_id=body.therapist_id,
        patient_id=body.patient_id,
        reason=body.reason,
    )
    key = _form_str(form, "request_key", 64)
    idem = (
        idempotency.Idempotency("page-" + key, idempotency.fingerprint("/book", booking.__dict__))
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
            {
                "title": "That time could not be booked",
                "message": plain_refusal(exc, "book"),
                "back": back,
            },
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/appointments/{answer.body['id']}?booked=1")


# --- one appointment -----------------------------------------------------------------------------


async def _detail(
    request: web.Request, appointment_id: uuid.UUID, error: str | None = None, status: int = 200
) -> web.Response:
    view = await service.get_appointment(request.app[SERVICES], caller_of(request), appointment_id)
    return _detail_page(request, view, error, status)


def _moved_from(text: str, view: service.AppointmentView) -> datetime | None:
    """Where a moved visit was, from the confirmation link (whole seconds since the epoch); a
    value that is not one is left out rather than refused: it only words the notice."""
    if not text.isdigit() or len(text) > 12:
        return None
    return datetime.fromtimestamp(int(text), UTC).astimezone(view.local_start.tzinfo)


def _detail_page(
    request: web.Request,
    view: service.AppointmentView,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    notice = None
    hour12 = reads_12_hour_clock(request)
    if request.query.get("booked"):
        notice = "Your visit is booked."
    elif request.query.get("moved"):
        notice = f"Your visit is now on {spoken_time(view.local_start, hour12)}."
        was = _moved_from(request.query.get("from", ""), view)
        if was is not None:
            notice = (
                f"Your visit has moved from {spoken_time(was, hour12)}"
                f" to {spoken_time(view.local_start, hour12)}."
            )
    elif request.query.get("cancelled"):
        notice = f"Your visit on {spoken_time(view.local_start, hour12)} is cancelled."
    return render(
        request,
        "scheduling/appointment.html",
        {
            "view": view,
            "actions": {a.value for a in view.actions},
            "error": error,
            "notice": notice,
            "status_label": view.row.status.replace("_", " "),
            "now": request.app[SERVICES].clock.now(),
        },
        status=status,
    )


@session_in_work
async def appointment_page(request: web.Request) -> web.StreamResponse:
    """One visit: when, with whom, join and calendar links, and what may be done now."""
    appointment_id = path_uuid(request, "appointment_id")
    async with request_work(request, reads_only=True) as uow:
        view = await service.get_appointment_in(uow, request.app[SERVICES], appointment_id)
    return _detail_page(request, view)


async def appointment_action(request: web.Request) -> web.StreamResponse:
    """Check in, start, complete, cancel or record a no-show from the page."""
    require_actor(request)
    appointment_id = path_uuid(request, "appointment_id")
    form = await read_form(request)
    try:
        action = Action(_form_str(form, "action", 32))
    except ValueError:
        raise NotFound("No such action.") from None
    reason = _form_str(form, "reason", 500)
    try:
        await service.act(request.app[SERVICES], caller_of(request), appointment_id, action, reason)
    except (InvalidInput, Conflict) as exc:
        message = plain_refusal(exc, action.value.replace("_", " "))
        if action is Action.CANCEL and _form_str(form, "from", 16) == "cancel":
            return await _cancel_page(request, appointment_id, message, reason, exc.status)
        return await _detail(request, appointment_id, message, exc.status)
    done = "?cancelled=1" if action is Action.CANCEL else ""
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}{done}")


async def cancel_page(request: web.Request) -> web.StreamResponse:
    """The confirmation before cancelling: the visit, and whether it counts as late."""
    require_actor(request)
    return await _cancel_page(request, path_uuid(request, "appointment_id"))


async def _cancel_page(
    request: web.Request,
    appointment_id: uuid.UUID,
    error: str | None = None,
    reason: str = "",
    status: int = 200,
) -> web.Response:
    services, caller = request.app[SERVICES], caller_of(request)
    view = await service.get_appointment(services, caller, appointment_id)
    if Action.CANCEL not in view.actions and error is None:
        error = "This visit can no longer be cancelled here. Please call the clinic."
        status = 409
    late = None
    kind = next(
        (t for t in await service.list_types(services, caller) if t.key == view.type_key), None
    )
    if kind is not None:
        cutoff = timedelta(minutes=kind.cancellation_cutoff_minutes)
        # The same rule the cancellation applies, so the warning and the record agree.
        state = AppointmentState(
            status=Status(view.row.status),
            start=view.row.start_at,
            end=view.row.end_at,
            patient_id=str(view.row.patient_id),
            therapist_id=str(view.row.therapist_id),
            cancellation_cutoff=cutoff,
        )
        if is_late_cancellation(state, services.clock.now()):
            late = (
                f"This is less than {_span_words(cutoff)} before the visit, so"
                " it will be recorded as a late cancellation."
            )
    return render(
        request,
        "scheduling/cancel.html",
        {
            "view": view,
            "when_text": spoken_time(view.local_start, reads_12_hour_clock(request)),
            "late": late,
            "error": error,
            "reason": reason,
        },
        status=status,
    )


async def reschedule_page(request: web.Request) -> web.StreamResponse:
    """Pick a new time with the booking picker, then confirm the old and the new time."""
    require_actor(request)
    appointment_id = path_uuid(request, "appointment_id")
    start_text = request.query.get("start")
    new_start = None if start_text is None else _instant(start_text)
    version = _version(request.query.get("version", ""))
    return await _reschedule(request, appointment_id, new_start, version)


async def _reschedule(
    request: web.Request,
    appointment_id: uuid.UUID,
    new_start: datetime | None,
    version: int | None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    services, caller = request.app[SERVICES], caller_of(request)
    view = await service.get_appointment(services, caller, appointment_id)
    row = view.row
    if row.status != "booked" and error is None:
        error = (
            f"This visit is {row.status.replace('_', ' ')}, so it can no longer be moved."
            " Please call the clinic if you need help."
        )
        status = 409
    if error is None and require_actor(request).is_patient and await _inside_cutoff(request, view):
        # The move would be refused; say so before a time is picked, not after.
        error = plain_refusal(Conflict("", code=ErrorCode.TOO_LATE), "move")
        status = 409
    try:
        week = min(max(int(request.query.get("week", "0")), 0), MAX_WEEKS_AHEAD)
    except ValueError:
        week = 0
    days: list[booking_guide.Day[service.FoundSlot]] = []
    next_slot = None
    zone = resolve_zone(view.zone)
    now = services.clock.now()
    if new_start is None and row.status == "booked" and error is None:
        first_day = now.astimezone(zone).date() + timedelta(days=7 * week)
        try:
            result = await service.search_slots(
                services,
                caller,
                service.SlotQuery(
                    type_key=view.type_key,
                    modality=row.modality,
                    start=max(now, local_day_start(first_day, zone)),
                    end=local_day_start(first_day + timedelta(days=BOOKING_DAYS), zone),
                    therapist_id=row.therapist_id,
                    zone=view.zone,
                    limit=service.MAX_SLOT_LIMIT,
                    moving=row.id,
                ),
            )
            # The visit's own time is where it already is, so the picker never offers it.
            free = [f for f in result.slots if f.slot.start != row.start_at]
            days = picker_days(free, now.astimezone(zone).date(), one_per_time=False)
            next_slot = free[0] if free and week == 0 else None
        except DomainError as exc:
            error = plain_refusal(exc, "move")
    hour12 = reads_12_hour_clock(request)
    return render(
        request,
        "scheduling/reschedule.html",
        {
            "view": view,
            "days": days,
            "next_slot": next_slot,
            "week": week,
            "max_week": MAX_WEEKS_AHEAD,
            "old_text": spoken_time(view.local_start, hour12),
            "new_start": new_start,
            "new_text": spoken_time(new_start.astimezone(zone), hour12) if new_start else "",
            "version": version or row.version,
            "error": error,
        },
        status=status,
    )


async def _inside_cutoff(request: web.Request, view: service.AppointmentView) -> bool:
    """Whether the visit is inside its type's late-change window, where patients call instead."""
    services = request.app[SERVICES]
    types = await service.list_types(services, caller_of(request))
    kind = next((t for t in types if t.key == view.type_key), None)
    if kind is None:
        return False
    cutoff = timedelta(minutes=kind.cancellation_cutoff_minutes)
    return view.row.start_at - services.clock.now() < cutoff


async def reschedule_submit(request: web.Request) -> web.StreamResponse:
    """Move the visit to the confirmed time (or, from older forms, a local date and time)."""
    actor = require_actor(request)
    appointment_id = path_uuid(request, "appointment_id")
    form = await read_form(request)
    start_text = _form_str(form, "start", 64)
    if start_text:
        start = _instant(start_text)
    else:
        start = _local_instant(_form_str(form, "day"), _form_str(form, "time"), actor.time_zone)
    version = _version(_form_str(form, "version", 16))
    try:
        moved = await service.reschedule(
            request.app[SERVICES], caller_of(request), appointment_id, start, version
        )
    except (InvalidInput, Conflict) as exc:
        return await _reschedule(
            request, appointment_id, start, version, plain_refusal(exc, "move"), exc.status
        )
    was = moved.moved_from
    query = f"&from={int(was.timestamp())}" if was is not None else ""
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}?moved=1{query}")


# --- therapist agenda and hours ------------------------------------------------------------------


# Today's agenda also lists the visits of the next hours past midnight: a therapist working
# late must see the 00:15 visit on the page they have open, not only on tomorrow's.
TODAY_LOOKAHEAD = timedelta(hours=6)


def _range(actor: Actor, query: Any, now: datetime) -> tuple[str, date, datetime, datetime]:
    zone = resolve_zone(actor.time_zone)
    view = "week" if query.get("view") == "week" else "day"
    today = now.astimezone(zone).date()
    try:
        day = date.fromisoformat(query.get("day", ""))
    except ValueError:
        day = today
    if view == "week":
        day -= timedelta(days=day.weekday())
    length = 7 if view == "week" else 1
    end = local_day_start(day + timedelta(days=length), zone)
    if view == "day" and day == today:
        end = max(end, now + TODAY_LOOKAHEAD)
    return view, day, local_day_start(day, zone), end


@session_in_work
async def agenda_page(request: web.Request) -> web.StreamResponse:
    """A therapist's day or week with live statuses (admins may look at any therapist's)."""
    services = request.app[SERVICES]
    async with request_work(request, reads_only=True) as uow:
        actor = uow.actor
        require_staff(actor)
        view, day, start, end = _range(actor, request.query, services.clock.now())
        therapist_id = _uuid(request.query.get("therapist_id")) if actor.is_admin else actor.id
        views = await service.list_appointments_in(
            uow, services, service.ListQuery(start=start, end=end, therapist_id=therapist_id)
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


# How long one agenda stream stays open. The browser opens the next at once (EventSource), as a
# new request authenticated again, so a session ended meanwhile loses the stream within this.
AGENDA_STREAM_SECONDS = 300.0
# A comment this often: proxies close streams that stay silent, and a closed tab is noticed.
AGENDA_HEARTBEAT_SECONDS = 20.0


async def agenda_changes(request: web.Request) -> web.StreamResponse:
    """The agenda's push channel (Server-Sent Events): "changed" whenever the calendar it shows
    changes, so the page reloads its statuses at once, in a background tab too. It carries no
    patient data (the page reads that through the API, audited), so it is not audited itself."""
    actor = require_actor(request)
    require_staff(actor)
    therapist_id = _uuid(request.query.get("therapist_id")) if actor.is_admin else actor.id
    changes = request.app[CALENDAR_CHANGES]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            # Proxies that buffer responses (nginx) would hold the events back.
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    until = loop.time() + AGENDA_STREAM_SECONDS
    try:
        # The browser reconnects 3 s after a stream ends.
        await response.write(b"retry: 3000\n\n")
        with changes.listening(therapist_id) as listener:
            while (left := until - loop.time()) > 0 and not listener.closing:
                if await listener.changed_within(min(AGENDA_HEARTBEAT_SECONDS, left)):
                    await response.write(b"event: changed\ndata: {}\n\n")
                elif not listener.closing:
                    await response.write(b": still here\n\n")
    except ConnectionResetError:
        pass  # the page was closed
    return response


# The fields of the time-off and extra-hours form, given back to it when an entry is refused.
_EXCEPTION_FIELDS = ("day", "kind", "start", "end", "note")


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
    typed_exception: dict[str, str] | None = None,
    typed_hours: hours_form.Rows | None = None,
    typed_zone: str | None = None,
    error_field: str | None = None,
    notice: str | None = None,
) -> web.Response:
    view = await availability_service.get_availability(
        request.app[SERVICES], caller_of(request), therapist_id
    )
    # A refused or copied form is drawn from what was typed, not from what is stored.
    rows = typed_hours or hours_form.stored_rows(
        [(b.weekday, b.start_local, b.end_local) for b in view.weekly]
    )
    zone = view.zone if typed_zone is None else typed_zone
    zones = COMMON_ZONES if zone in COMMON_ZONES else (zone, *COMMON_ZONES)
    return render(
        request,
        "scheduling/availability.html",
        {
            "view": view,
            "rows": list(enumerate(rows)),
            "weekday_names": WEEKDAY_NAMES,
            "zones": zones,
            "zone": zone,
            "error": error,
            "error_field": error_field,
            "notice": notice,
            "saved": saved,
            "typed_exception": typed_exception or dict.fromkeys(_EXCEPTION_FIELDS, ""),
        },
        status=status,
    )


COPIED_NOTICE = (
    "Monday's hours are copied to Tuesday, Wednesday, Thursday and Friday."
    " They are not saved yet: check them, then press Save hours."
)


async def availability_submit(request: web.Request) -> web.StreamResponse:
    """Save the weekly pattern (two blocks a day at most on this form), or copy Monday's hours to
    the other weekdays and show the form again, unsaved (the no-JavaScript copy)."""
    require_actor(request)
    form = await read_form(request)
    therapist_id = _uuid(_form_str(form, "therapist_id", 64))
    target = therapist_id or require_actor(request).id
    rows = hours_form.typed_rows(lambda name: _form_str(form, name, 16))
    zone = _form_str(form, "time_zone", 64)
    if _form_str(form, "action", 16) == "copy_monday":
        return await _availability(
            request,
            target,
            typed_hours=hours_form.copy_monday(rows),
            typed_zone=zone,
            notice=COPIED_NOTICE,
        )
    try:
        blocks = hours_form.blocks_of(rows)
        await availability_service.set_weekly_hours(
            request.app[SERVICES], caller_of(request), target, zone, blocks
        )
    except InvalidInput as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return await _availability(
            request,
            target,
            exc.message,
            status=422,
            typed_hours=rows,
            typed_zone=zone,
            # A refusal of the week as a whole (its zone) points at the zone.
            error_field=field if isinstance(field, str) and field.startswith("d") else "time_zone",
        )
    return await _availability(request, target, saved=True)


async def exception_submit(request: web.Request) -> web.StreamResponse:
    """Add time off or extra hours."""
    actor = require_actor(request)
    form = await read_form(request)
    target = _uuid(_form_str(form, "therapist_id", 64)) or actor.id
    try:
        try:
            body = parse_form(form, ExceptionIn)
        except InvalidInput:
            raise InvalidInput("Please give a date, and both times or none.") from None
        await availability_service.add_exception(
            request.app[SERVICES],
            caller_of(request),
            target,
            DateException(body.day, ExceptionKind(body.kind), body.start, body.end),
            body.note,
        )
    except InvalidInput as exc:
        # The refused entry stays in its form, to be corrected rather than typed again.
        typed = {name: _form_str(form, name) for name in _EXCEPTION_FIELDS}
        return await _availability(request, target, exc.message, status=422, typed_exception=typed)
    raise web.HTTPSeeOther(f"/availability?therapist_id={target}")


async def exception_delete(request: web.Request) -> web.StreamResponse:
    """Remove an exception."""
    require_actor(request)
    form = await read_form(request)
    target = _uuid(_form_str(form, "therapist_id", 64)) or require_actor(request).id
    await availability_service.remove_exception(
        request.app[SERVICES], caller_of(request), target, path_uuid(request, "exception_id")
    )
    raise web.HTTPSeeOther(f"/availability?therapist_id={target}")


# --- admin calendar ------------------------------------------------------------------------------


async def admin_calendar(request: web.Request) -> web.StreamResponse:
    """Every therapist's week, and booking for a patient; a free time picked on a calendar grid
    arrives as ``therapist_id``, ``day`` and ``time`` and fills the form in."""
    actor = require_actor(request)
    require_admin(actor)
    picked = {name: _form_str(request.query, name, 64) for name in ("therapist_id", "day", "time")}
    return await _admin_calendar(request, actor, typed=picked)


# The admin booking form's fields, given back to it when a booking is refused.
_BOOKING_FIELDS = ("patient_id", "therapist_id", "type", "modality", "day", "time", "reason")


async def _admin_calendar(
    request: web.Request,
    actor: Actor,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
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
            "therapists": await availability_service.list_therapists(services, caller),
            "types": await service.list_types(services, caller),
            "request_key": secrets.token_urlsafe(16),
            "error": error,
            # A control character (a NUL from a crafted link) is no value anyone typed.
            "typed": {
                name: value if (value := (typed or {}).get(name, "")).isprintable() else ""
                for name in _BOOKING_FIELDS
            },
        },
        status=status,
    )


async def admin_book_submit(request: web.Request) -> web.StreamResponse:
    """An admin books for a patient at a local date and time (in the admin's zone)."""
    actor = require_actor(request)
    require_admin(actor)
    form = await read_form(request)
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
            idempotency.Idempotency(
                "page-" + key, idempotency.fingerprint("/admin/calendar", booking.__dict__)
            )
            if key
            else None,
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        # Every value stays in the form, to change one thing and book again.
        typed = {name: _form_str(form, name, 500) for name in _BOOKING_FIELDS}
        return await _admin_calendar(
            request, actor, plain_refusal(exc, "book"), exc.status, typed=typed
        )
    raise web.HTTPSeeOther(f"/appointments/{answer.body['id']}?booked=1")


def setup_routes(app: web.Application) -> None:
    """Add the scheduling pages."""
    app.router.add_get("/book", book_page)
    app.router.add_get("/book/confirm", confirm_page)
    app.router.add_post("/book", book_submit)
    app.router.add_get("/appointments/{appointment_id}", appointment_page)
    app.router.add_post("/appointments/{appointment_id}/action", appointment_action)
    app.router.add_get("/appointments/{appointment_id}/reschedule", reschedule_page)
    app.router.add_post("/appointments/{appointment_id}/reschedule", reschedule_submit)
    app.router.add_get("/appointments/{appointment_id}/cancel", cancel_page)
    app.router.add_get("/agenda", agenda_page)
    app.router.add_get("/agenda/changes", agenda_changes)
    app.router.add_get("/availability", availability_page)
    app.router.add_post("/availability", availability_submit)
    app.router.add_post("/availability/exceptions", exception_submit)
    app.router.add_post("/availability/exceptions/{exception_id}/delete", exception_delete)
    app.router.add_get("/admin/calendar", admin_calendar)
    app.router.add_post("/admin/calendar/book", admin_book_submit)
    grid_pages.setup_routes(app)
