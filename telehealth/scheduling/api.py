"""Scheduling API: types, availability, closures, slots, appointments, series, calendar feeds."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from telehealth import idempotency
from telehealth.accounts.access import require_admin
from telehealth.error_codes import ErrorCode
from telehealth.errors import InvalidInput, NotFound
from telehealth.http.api import Api, path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.scheduling import service
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import DateException, ExceptionKind, WeeklyBlock
from telehealth.scheduling.feeds import service as feeds_service
from telehealth.scheduling.lifecycle import Action
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.scheduling.schemas import (
    AppointmentOut,
    AppointmentsOut,
    AppointmentsQuery,
    AvailabilityIn,
    AvailabilityOut,
    BookingIn,
    CancelIn,
    ClosureIn,
    ClosureOut,
    ClosuresOut,
    ExceptionIn,
    ExceptionOut,
    FeedOut,
    FeedsOut,
    NewFeedOut,
    RescheduleIn,
    SeriesIn,
    SeriesOut,
    SlotOut,
    SlotsOut,
    SlotsQuery,
    TherapistOut,
    TherapistsOut,
    TypeIn,
    TypeOut,
    TypePatch,
    TypesOut,
    TypesQuery,
    WeeklyBlockOut,
)
from telehealth.unit_of_work import UnitOfWork

api = Api()
TAGS = ("scheduling",)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


def _type_out(row: AppointmentTypeRow) -> TypeOut:
    return TypeOut.model_validate(row)


def _changes(body: TypePatch) -> service.TypeChanges:
    fields: dict[str, Any] = body.model_dump(exclude={"key"}, exclude_unset=True)
    if fields.get("modalities") is not None:
        fields["modalities"] = tuple(fields["modalities"])
    return service.TypeChanges(**fields)


# --- appointment types ---------------------------------------------------------------------------


@api.get(
    "/appointment-types",
    query=TypesQuery,
    response=TypesOut,
    summary="Appointment types",
    tags=TAGS,
)
async def list_types(request: web.Request, uow: UnitOfWork, query: TypesQuery) -> TypesOut:
    """Active types the caller may book, in display order (inactive ones for admins who ask)."""
    # The types the caller may book: a patient is never offered one that only staff book.
    rows = await service.list_types_in(uow, query.include_inactive, bookable_only=True)
    return TypesOut(items=[_type_out(r) for r in rows])


@api.post(
    "/appointment-types",
    body=TypeIn,
    response=TypeOut,
    status=201,
    summary="Add an appointment type (admin)",
    tags=TAGS,
)
async def create_type(request: web.Request, body: TypeIn) -> TypeOut:
    """Create a type, checked by the type's own rules."""
    row = await service.create_type(
        request.app[SERVICES], caller_of(request), body.key, _changes(body)
    )
    return _type_out(row)


@api.patch(
    "/appointment-types/{type_id}",
    body=TypePatch,
    response=TypeOut,
    summary="Edit an appointment type (admin)",
    tags=TAGS,
)
async def update_type(request: web.Request, body: TypePatch) -> TypeOut:
    """Change durations, buffers, policy, modalities or whether it can be booked."""
    row = await service.update_type(
        request.app[SERVICES], caller_of(request), path_uuid(request, "type_id"), _changes(body)
    )
    return _type_out(row)


# --- therapists, availability, closures ----------------------------------------------------------


@api.get("/therapists", response=TherapistsOut, summary="Therapists one can book with", tags=TAGS)
async def list_therapists(request: web.Request, uow: UnitOfWork) -> TherapistsOut:
    """Active therapists."""
    people = await availability_service.list_therapists_in(uow)
    return TherapistsOut(items=[TherapistOut.model_validate(p) for p in people])


def _availability_out(view: availability_service.AvailabilityView) -> AvailabilityOut:
    return AvailabilityOut(
        therapist_id=view.therapist.id,
        time_zone=view.zone,
        weekly=[
            WeeklyBlockOut(weekday=w.weekday, start=w.start_local, end=w.end_local)
            for w in view.weekly
        ],
        exceptions=[
            ExceptionOut(
                id=e.id, day=e.day, kind=e.kind, start=e.start_local, end=e.end_local, note=e.note
            )
            for e in view.exceptions
        ],
    )


@api.get(
    "/therapists/{therapist_id}/availability",
    response=AvailabilityOut,
    summary="A therapist's availability rules (own, or any for admins)",
    tags=TAGS,
)
async def get_availability(request: web.Request) -> AvailabilityOut:
    """Zone, weekly hours and upcoming exceptions."""
    view = await availability_service.get_availability(
        request.app[SERVICES], caller_of(request), path_uuid(request, "therapist_id")
    )
    return _availability_out(view)


@api.put(
    "/therapists/{therapist_id}/availability",
    body=AvailabilityIn,
    response=AvailabilityOut,
    summary="Replace a therapist's zone and weekly hours",
    tags=TAGS,
)
async def put_availability(request: web.Request, body: AvailabilityIn) -> AvailabilityOut:
    """Set the weekly pattern."""
    blocks = [WeeklyBlock(b.weekday, b.start, b.end) for b in body.weekly]
    view = await availability_service.set_weekly_hours(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "therapist_id"),
        body.time_zone,
        blocks,
    )
    return _availability_out(view)


@api.post(
    "/therapists/{therapist_id}/availability/exceptions",
    body=ExceptionIn,
    response=ExceptionOut,
    status=201,
    summary="Add time off or extra hours on a date",
    tags=TAGS,
)
async def add_exception(request: web.Request, body: ExceptionIn) -> ExceptionOut:
    """One date's change."""
    exception = DateException(body.day, ExceptionKind(body.kind), body.start, body.end)
    row = await availability_service.add_exception(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "therapist_id"),
        exception,
        body.note,
    )
    return ExceptionOut(
        id=row.id,
        day=row.day,
        kind=row.kind,
        start=row.start_local,
        end=row.end_local,
        note=row.note,
    )


@api.delete(
    "/therapists/{therapist_id}/availability/exceptions/{exception_id}",
    summary="Remove an exception",
    tags=TAGS,
)
async def remove_exception(request: web.Request) -> None:
    """Delete one exception."""
    await availability_service.remove_exception(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "therapist_id"),
        path_uuid(request, "exception_id"),
    )


@api.get("/clinic-closures", response=ClosuresOut, summary="Days the clinic is closed", tags=TAGS)
async def list_closures(request: web.Request) -> ClosuresOut:
    """Upcoming closures."""
    rows = await availability_service.list_closures(request.app[SERVICES], caller_of(request))
    return ClosuresOut(items=[ClosureOut.model_validate(r) for r in rows])


@api.post(
    "/clinic-closures",
    body=ClosureIn,
    response=ClosureOut,
    status=201,
    summary="Close the clinic for a day (admin)",
    tags=TAGS,
)
async def add_closure(request: web.Request, body: ClosureIn) -> ClosureOut:
    """Close a day."""
    row = await availability_service.add_closure(
        request.app[SERVICES], caller_of(request), body.day, body.reason
    )
    return ClosureOut.model_validate(row)


@api.delete("/clinic-closures/{day}", summary="Reopen a day (admin)", tags=TAGS)
async def remove_closure(request: web.Request) -> None:
    """Remove a closure."""
    from datetime import date

    # The role check first, as on every admin-only endpoint: a malformed day is not a 404 to others.
    require_admin(require_actor(request))
    try:
        day = date.fromisoformat(request.match_info["day"])
    except ValueError:
        raise NotFound("The clinic is not closed that day.") from None
    await availability_service.remove_closure(request.app[SERVICES], caller_of(request), day)


# --- slots ---------------------------------------------------------------------------------------


@api.get(
    "/slots",
    query=SlotsQuery,
    response=SlotsOut,
    summary="Free slots of a type (one therapist, or the earliest across all)",
    tags=TAGS,
)
async def search_slots(request: web.Request, uow: UnitOfWork, query: SlotsQuery) -> SlotsOut:
    """Free times only; never who is booked."""
    result = await service.search_slots_in(
        uow,
        service.SlotQuery(
            type_key=query.type,
            modality=query.modality,
            start=query.start,
            end=query.end,
            therapist_id=query.therapist_id,
            zone=query.zone,
            limit=query.limit,
        ),
    )
    return SlotsOut(
        type=query.type,
        modality=query.modality,
        zone=result.zone,
        start=result.start,
        end=result.end,
        truncated=result.truncated,
        slots=[
            SlotOut(
                therapist_id=f.therapist_id,
                therapist_name=f.therapist_name,
                start=f.slot.start,
                end=f.slot.end,
                local_start=f.slot.local_start,
                local_end=f.slot.local_end,
                local_date=f.slot.local_start.date(),
            )
            for f in result.slots
        ],
    )


# --- appointments --------------------------------------------------------------------------------


def present(view: service.AppointmentView) -> dict[str, Any]:
    """The JSON body of an appointment (also what an Idempotency-Key replays)."""
    return AppointmentOut.of(view).model_dump(mode="json")


def idempotency_of(request: web.Request, payload: dict[str, Any]) -> idempotency.Idempotency | None:
    """The Idempotency-Key header with the request's fingerprint, if the client sent one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 128 visible ASCII characters.",
            details={"header": "Idempotency-Key"},
        )
    return idempotency.Idempotency(key, idempotency.fingerprint(request.path, payload))


@api.post(
    "/appointments",
    body=BookingIn,
    response=AppointmentOut,
    status=201,
    summary="Book a visit (send an Idempotency-Key to retry safely)",
    tags=TAGS,
    errors=(ErrorCode.OUTSIDE_PLAN,),
)
async def book(request: web.Request, body: BookingIn) -> web.StreamResponse:
    """Patients for themselves, therapists for their patients, admins for anyone."""
    answer = await service.book_appointment(
        request.app[SERVICES],
        caller_of(request),
        service.BookingRequest(
            type_key=body.type,
            modality=body.modality,
            start=body.start,
            patient_id=body.patient_id,
            therapist_id=body.therapist_id,
            reason=body.reason,
        ),
        present,
        idempotency_of(request, body.model_dump(mode="json")),
    )
    response = web.json_response(answer.body, status=answer.status)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@api.get(
    "/appointments",
    query=AppointmentsQuery,
    response=AppointmentsOut,
    summary="Appointments visible to me in a range (agenda, calendar)",
    tags=TAGS,
)
async def list_appointments(
    request: web.Request, uow: UnitOfWork, query: AppointmentsQuery
) -> AppointmentsOut:
    """Own visits (patient), own agenda (therapist), everything (admin)."""
    views = await service.list_appointments_in(
        uow,
        request.app[SERVICES],
        service.ListQuery(
            start=query.start,
            end=query.end,
            therapist_id=query.therapist_id,
            patient_id=query.patient_id,
            include_cancelled=query.include_cancelled,
            zone=query.zone,
        ),
    )
    return AppointmentsOut(items=[AppointmentOut.of(v) for v in views])


@api.get(
    "/appointments/{appointment_id}",
    response=AppointmentOut,
    summary="One appointment",
    tags=TAGS,
)
async def get_appointment(request: web.Request) -> AppointmentOut:
    """Read one appointment."""
    view = await service.get_appointment(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return AppointmentOut.of(view)


def _lifecycle(action: Action, summary: str) -> None:
    async def handler(request: web.Request) -> AppointmentOut:
        view = await service.act(
            request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id"), action
        )
        return AppointmentOut.of(view)

    handler.__name__ = f"appointment_{action.value}"
    path = "/appointments/{appointment_id}/" + action.value.replace("mark_", "").replace("_", "-")
    errors = ("note_signed",) if action is Action.MARK_NO_SHOW else ()
    api.post(path, response=AppointmentOut, summary=summary, tags=TAGS, errors=errors)(handler)


_lifecycle(Action.CHECK_IN, "Check in (opens 30 minutes before the start)")
_lifecycle(Action.START, "Start the visit (treating therapist)")
_lifecycle(Action.COMPLETE, "Complete the visit (treating therapist)")
_lifecycle(Action.MARK_NO_SHOW, "Record a no-show (15 minutes after the start at the earliest)")


@api.post(
    "/appointments/{appointment_id}/cancel",
    body=CancelIn,
    response=AppointmentOut,
    summary="Cancel (staff give a reason; late cancellations are marked)",
    tags=TAGS,
    errors=(ErrorCode.NOTE_SIGNED, ErrorCode.ILLEGAL_TRANSITION, ErrorCode.TOO_LATE),
)
async def cancel(request: web.Request, body: CancelIn) -> AppointmentOut:
    """Cancel a booked or checked-in visit."""
    view = await service.act(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        Action.CANCEL,
        body.reason,
    )
    return AppointmentOut.of(view)


@api.post(
    "/appointments/{appointment_id}/reschedule",
    body=RescheduleIn,
    response=AppointmentOut,
    summary="Move a booked visit atomically (409 and unchanged when the new time is taken)",
    tags=TAGS,
    errors=(
        ErrorCode.NOTE_SIGNED,
        ErrorCode.STALE_VERSION,
        ErrorCode.ILLEGAL_TRANSITION,
        ErrorCode.TOO_LATE,
        ErrorCode.THERAPIST_BUSY,
        ErrorCode.PATIENT_BUSY,
        ErrorCode.OUTSIDE_PLAN,
    ),
)
async def reschedule(request: web.Request, body: RescheduleIn) -> AppointmentOut:
    """Move to a new start."""
    view = await service.reschedule(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.start,
        body.version,
    )
    return AppointmentOut.of(view)


@api.get(
    "/appointments/{appointment_id}/calendar.ics",
    summary="One visit as an iCalendar file",
    tags=TAGS,
    raw_response="text/calendar",
)
async def appointment_ics(request: web.Request) -> web.StreamResponse:
    """Download for the person's own calendar app."""
    body = await feeds_service.appointment_ics(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return ics_response(body, "visit.ics")


def ics_response(body: bytes, filename: str) -> web.Response:
    """An iCalendar answer."""
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- series --------------------------------------------------------------------------------------


@api.post(
    "/appointment-series",
    body=SeriesIn,
    response=SeriesOut,
    status=201,
    summary="Book a plan-of-care series (all or nothing, or the free occurrences)",
    tags=TAGS,
)
async def book_series(request: web.Request, body: SeriesIn) -> SeriesOut:
    """Weekly visits at one local time."""
    outcome = await service.book_series(
        request.app[SERVICES],
        caller_of(request),
        service.SeriesRequest(
            type_key=body.type,
            modality=body.modality,
            weekdays=frozenset(body.weekdays),
            wall_time=body.time,
            first_day=body.first_day,
            weeks=body.weeks,
            patient_id=body.patient_id,
            therapist_id=body.therapist_id,
            zone=body.zone,
            all_or_nothing=body.mode == "all_or_nothing",
        ),
    )
    return SeriesOut.model_validate(
        {
            "series_id": outcome.series_id,
            "booked": [AppointmentOut.of(v) for v in outcome.booked],
            "conflicts": outcome.conflicts,
        }
    )


# --- calendar feeds ------------------------------------------------------------------------------


@api.post(
    "/calendar-feeds",
    response=NewFeedOut,
    status=201,
    summary="A secret calendar subscription URL (shown once)",
    tags=TAGS,
)
async def create_feed(request: web.Request) -> NewFeedOut:
    """Create a feed of my visits."""
    new = await feeds_service.create_feed(request.app[SERVICES], caller_of(request))
    return NewFeedOut(id=new.feed.id, created_at=new.feed.created_at, revoked_at=None, url=new.url)


@api.get("/calendar-feeds", response=FeedsOut, summary="My calendar feeds", tags=TAGS)
async def list_feeds(request: web.Request) -> FeedsOut:
    """Feeds without their URLs."""
    feeds = await feeds_service.list_feeds(request.app[SERVICES], caller_of(request))
    return FeedsOut(items=[FeedOut.model_validate(f) for f in feeds])


@api.delete("/calendar-feeds/{feed_id}", summary="Revoke a calendar feed", tags=TAGS)
async def revoke_feed(request: web.Request) -> None:
    """The URL stops working at once."""
    await feeds_service.revoke_feed(
        request.app[SERVICES], caller_of(request), path_uuid(request, "feed_id")
    )


async def feed(request: web.Request) -> web.StreamResponse:
    """GET /calendar/{token}.ics: the subscription itself; the token is the credential."""
    token = request.match_info["token"]
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,128}", token):
        raise NotFound("No such calendar.")
    body = await feeds_service.feed_ics(request.app[SERVICES], caller_of(request), token)
    return ics_response(body, "visits.ics")


def setup_routes(app: web.Application) -> None:
    """The unauthenticated feed route (the API itself is added by build_api)."""
    app.router.add_get("/calendar/{token}.ics", feed)
