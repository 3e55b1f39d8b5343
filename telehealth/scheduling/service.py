"""Scheduling services: types, availability, slot search, booking, series, lifecycle, reschedule.

Each public function is one transaction (``unit_of_work``): authorize through ``access``, load the
rows the pure rules need (``repository``), apply the rules, write, audit. The database's no-overlap
constraint is the guarantee against double booking; the rules run first only so that people get a
precise message (too soon, outside hours, taken), and a constraint violation is answered the same
way (409 naming whether the therapist or the patient is busy).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts import service as accounts_service
from telehealth.accounts.access import require_admin
from telehealth.accounts.models import User
from telehealth.actors import Actor, Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from telehealth.idempotency import Answer, Idempotency, run_once
from telehealth.notifications.rules import Kind as MessageKind
from telehealth.scheduling import access, booking_guide, lifecycle, notices, repository
from telehealth.scheduling.appointment_types import (
    MAX_HORIZON,
    AppointmentType,
    Modality,
    parse_modality,
)
from telehealth.scheduling.availability.rules import (
    expand,
)
from telehealth.scheduling.localtime import local_date, resolve_zone
from telehealth.scheduling.locks import lock_calendars
from telehealth.scheduling.models import (
    OVERLAP_PATIENT,
    OVERLAP_THERAPIST,
    Appointment,
    AppointmentSeries,
    AppointmentTypeRow,
)
from telehealth.scheduling.overlap import Interval, overlaps
from telehealth.scheduling.series import SeriesPlan, SeriesRule, plan_series, series_window
from telehealth.scheduling.slots import BookingProblem, Slot, ensure_bookable, find_slots
from telehealth.scheduling.validation import (
    validate_future_start,
    validate_range,
    validate_search_range,
)
from telehealth.unit_of_work import PlannedVisit, Services, UnitOfWork, retrying, unit_of_work

# A booking UI shows a few weeks at a time; a page of slots beyond this is never read by a person.
DEFAULT_SLOT_LIMIT = 200
MAX_SLOT_LIMIT = 1000
DEFAULT_SEARCH_SPAN = timedelta(days=28)
# Calendar views (agenda week, admin calendar) never need more than this at once.
MAX_LIST_SPAN = timedelta(days=62)
_DAY = timedelta(days=1)
# Nothing is bookable further ahead than the longest horizon a type may have.
_REACH = MAX_HORIZON + _DAY


def _within_reach(instant: datetime, now: datetime, field: str) -> datetime:
    # Refused before any arithmetic: year 9999 plus a visit length overflows datetime.
    if abs(instant - now) > _REACH:
        raise InvalidInput(
            f"{field} is more than a year away; nothing can be booked that far.",
            details={"field": field},
        )
    return instant


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentView:
    """An appointment with the names a person needs to read it, and what the viewer may do."""

    row: Appointment
    type_key: str
    type_name: str
    patient_name: str
    therapist_name: str
    zone: str
    join_url: str | None
    actions: frozenset[lifecycle.Action] = frozenset()
    # Set by a move: where the visit was, for the confirmation.
    moved_from: datetime | None = None

    @property
    def local_start(self) -> datetime:
        """The start in the viewer's zone."""
        return self.row.start_at.astimezone(ZoneInfo(self.zone))

    @property
    def local_end(self) -> datetime:
        """The end in the viewer's zone."""
        return self.row.end_at.astimezone(ZoneInfo(self.zone))


def _state(row: Appointment, cutoff: timedelta) -> lifecycle.AppointmentState:
    return lifecycle.AppointmentState(
        status=lifecycle.Status(row.status),
        start=row.start_at,
        end=row.end_at,
        patient_id=str(row.patient_id),
        therapist_id=str(row.therapist_id),
        cancellation_cutoff=cutoff,
        checked_in_at=row.checked_in_at,
        signed_note=signed_note_of(row),
    )


def signed_note_of(row: Appointment) -> lifecycle.SignedNote | None:
    """The visit's signed note as the status rules see it (None while unsigned)."""
    if row.note_id is None or row.note_signed_at is None:
        return None
    return lifecycle.SignedNote(note_id=str(row.note_id), signed_at=row.note_signed_at)


def _life_actor(actor: Actor) -> lifecycle.Actor:
    return lifecycle.Actor(lifecycle.Role(actor.role.value), str(actor.id))


def _join_url(services: Services, row: Appointment) -> str | None:
    if row.modality != Modality.VIRTUAL.value:
        return None
    return f"{services.settings.public_url}/visits/{row.id}"


async def views_of(
    uow: UnitOfWork,
    services: Services,
    rows: Sequence[Appointment],
    zone: str | None = None,
) -> list[AppointmentView]:
    if not rows:
        return []
    people = {
        u.id: u.display_name
        for u in (
            await uow.session.scalars(
                select(User).where(
                    User.id.in_({r.patient_id for r in rows} | {r.therapist_id for r in rows})
                )
            )
        ).all()
    }
    types = {
        t.id: t
        for t in (
            await uow.session.scalars(
                select(AppointmentTypeRow).where(
                    AppointmentTypeRow.id.in_({r.type_id for r in rows})
                )
            )
        ).all()
    }
    actor = uow.caller.actor
    viewer_zone = zone or (actor.time_zone if actor else services.settings.clinic_time_zone)
    views = []
    for row in rows:
        t = types[row.type_id]
        actions: frozenset[lifecycle.Action] = frozenset()
        if actor is not None:
            state = _state(row, timedelta(minutes=t.cancellation_cutoff_minutes))
            actions = lifecycle.allowed_actions(state, _life_actor(actor), uow.now)
        views.append(
            AppointmentView(
                row=row,
                type_key=t.key,
                type_name=t.name,
                patient_name=people.get(row.patient_id, ""),
                therapist_name=people.get(row.therapist_id, ""),
                zone=viewer_zone,
                join_url=_join_url(services, row),
                actions=actions,
            )
        )
    return views


async def view_of(uow: UnitOfWork, services: Services, row: Appointment) -> AppointmentView:
    return (await views_of(uow, services, [row]))[0]


def appointment_record(action: str, row: Appointment, **details: Any) -> AuditRecord:
    return AuditRecord(
        action, "appointment", resource_id=str(row.id), patient_id=row.patient_id, details=details
    )


# --- appointment types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeChanges:
    """Admin edits to a type; None keeps a field. Durations are whole minutes."""

    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    min_notice_minutes: int | None = None
    booking_horizon_minutes: int | None = None
    cancellation_cutoff_minutes: int | None = None
    modalities: tuple[str, ...] | None = None
    billable_evaluation: bool | None = None
    is_active: bool | None = None
    patient_bookable: bool | None = None
    display_order: int | None = None
    within_plan: bool | None = None


async def list_types(
    services: Services,
    caller: Caller,
    include_inactive: bool = False,
    bookable_only: bool = False,
) -> list[AppointmentTypeRow]:
    """The appointment types in display order (inactive ones only for admins).

    bookable_only keeps the types the caller may book: for patients, the patient-bookable ones.
    Without it every active type is listed, because a patient's own visit may be of a type only
    staff book, and its page still needs that type's cancellation policy.
    """
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await list_types_in(uow, include_inactive, bookable_only)


async def list_types_in(
    uow: UnitOfWork, include_inactive: bool = False, bookable_only: bool = False
) -> list[AppointmentTypeRow]:
    """`list_types` inside the caller's unit of work."""
    rows = await repository.all_types(uow.session)
    if not (include_inactive and uow.actor.is_admin):
        rows = [r for r in rows if r.is_active]
    if bookable_only:
        rows = booking_guide.types_for(rows, uow.actor.is_patient)
    return rows


def require_may_book(actor: Actor, t: AppointmentType) -> None:
    """Refuse a patient a type only staff book (403, in words with the next step)."""
    if not booking_guide.may_book(t, actor.is_patient):
        raise PermissionDenied(
            booking_guide.booked_by_staff_words(t.name),
            details={"field": "type", "patient_bookable": False},
        )


def _changed_type(current: AppointmentType, changes: TypeChanges) -> AppointmentType:
    minutes = {
        "duration": changes.duration_minutes,
        "buffer_before": changes.buffer_before_minutes,
        "buffer_after": changes.buffer_after_minutes,
        "min_notice": changes.min_notice_minutes,
        "booking_horizon": changes.booking_horizon_minutes,
        "cancellation_cutoff": changes.cancellation_cutoff_minutes,
    }
    fields: dict[str, Any] = {k: timedelta(minutes=v) for k, v in minutes.items() if v is not None}
    if changes.name is not None:
        fields["name"] = changes.name
    if changes.description is not None:
        fields["description"] = changes.description
    if changes.billable_evaluation is not None:
        fields["billable_evaluation"] = changes.billable_evaluation
    if changes.patient_bookable is not None:
        fields["patient_bookable"] = changes.patient_bookable
    if changes.display_order is not None:
        fields["display_order"] = changes.display_order
    if changes.within_plan is not None:
        fields["within_plan"] = changes.within_plan
    if changes.modalities is not None:
        try:
            fields["modalities"] = frozenset(Modality(m) for m in changes.modalities)
        except ValueError:
            raise InvalidInput(
                "modalities must be 'virtual' and/or 'in_clinic'", details={"field": "modalities"}
            ) from None
    # replace() re-runs the constructor's checks: an invalid type never reaches the database.
    return replace(current, **fields)


async def create_type(
    services: Services, caller: Caller, key: str, changes: TypeChanges
) -> AppointmentTypeRow:
    """An admin adds an appointment type; every field goes through the type's own checks."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        missing = [
            name
            for name in ("name", "duration_minutes", "modalities")
            if getattr(changes, name) is None
        ]
        if missing:
            raise InvalidInput(
                "A new type needs a name, a duration and its modalities.",
                details={"missing": missing},
            )
        base = AppointmentType(
            key=key,
            name=changes.name or "",
            duration=timedelta(minutes=changes.duration_minutes or 0),
            buffer_before=timedelta(0),
            buffer_after=timedelta(0),
            min_notice=timedelta(0),
            booking_horizon=timedelta(days=90),
            cancellation_cutoff=timedelta(hours=24),
            modalities=frozenset({Modality.VIRTUAL}),  # replaced from changes below
        )
        validated = _changed_type(base, changes)
        if await uow.session.scalar(
            select(AppointmentTypeRow.id).where(AppointmentTypeRow.key == key)
        ):
            raise Conflict(f"A type with key {key!r} already exists.", code=ErrorCode.TYPE_EXISTS)
        row = AppointmentTypeRow(
            is_active=True if changes.is_active is None else changes.is_active,
            created_at=uow.now,
            updated_at=uow.now,
        )
        repository.write_type(row, validated)
        uow.session.add(row)
        await uow.session.flush()
        uow.audit(AuditRecord("appointment_type.create", "appointment_type", resource_id=key))
        return row


async def update_type(
    services: Services, caller: Caller, type_id: uuid.UUID, changes: TypeChanges
) -> AppointmentTypeRow:
    """An admin edits a type; booked appointments keep the times they were booked with."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        row = await uow.session.get(AppointmentTypeRow, type_id)
        if row is None:
            raise NotFound("No such appointment type.")
        repository.write_type(row, _changed_type(repository.type_of(row), changes))
        if changes.is_active is not None:
            row.is_active = changes.is_active
        row.updated_at = uow.now
        uow.audit(
            AuditRecord(
                "appointment_type.update",
                "appointment_type",
                resource_id=row.key,
                details={"fields": sorted(k for k, v in changes.__dict__.items() if v is not None)},
            )
        )
        return row


def _days_around(start: datetime, end: datetime) -> tuple[date, date]:
    # Local dates differ from UTC dates by at most a day either side.
    return start.date() - _DAY, end.date() + _DAY


# --- slot search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotQuery:
    """A slot search: one type and modality, a window, optionally one therapist."""

    type_key: str
    modality: str
    start: datetime | None = None
    end: datetime | None = None
    therapist_id: uuid.UUID | None = None
    zone: str | None = None
    limit: int = DEFAULT_SLOT_LIMIT
    # A visit being moved: its own time is free for the move (a later start may overlap it).
    moving: uuid.UUID | None = None


@dataclass(frozen=True)
class FoundSlot:
    """A free slot and whose it is."""

    therapist_id: uuid.UUID
    therapist_name: str
    slot: Slot


@dataclass(frozen=True)
class SlotResult:
    """Slots earliest first (at most limit), the window searched and the viewer's zone."""

    slots: list[FoundSlot]
    start: datetime
    end: datetime
    zone: str
    truncated: bool
    appointment_type: AppointmentType


async def search_slots(services: Services, caller: Caller, query: SlotQuery) -> SlotResult:
    """Free slots of a type: of one therapist, or the earliest across all active therapists.

    Reveals only free times, never who is booked, so any signed-in person may search any active
    therapist. A patient searching is offered no time that overlaps a visit of their own (with
    any therapist): booking it would be refused. Only the times of the searcher's own visits
    are read, and only to leave slots out, so nothing is audited.
    """
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await search_slots_in(uow, query)


async def search_slots_in(uow: UnitOfWork, query: SlotQuery) -> SlotResult:
    """`search_slots` inside the caller's unit of work."""
    actor = uow.actor
    zone_name = query.zone or actor.time_zone
    viewer_zone = resolve_zone(zone_name)
    if not 1 <= query.limit <= MAX_SLOT_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_SLOT_LIMIT}", details={"field": "limit"})
    start = _within_reach(query.start or uow.now, uow.now, "start")
    end = _within_reach(query.end or start + DEFAULT_SEARCH_SPAN, uow.now, "end")
    start, end = validate_search_range(start, end, now=uow.now)
    # The type and the therapist(s) in one statement, the rules and busy times in another.
    subjects = await repository.type_and_therapists(uow.session, query.type_key, query.therapist_id)
    if subjects is None:
        raise await repository.unknown_type(uow.session, query.type_key)
    type_row, therapists = subjects
    t = repository.type_of(type_row)
    parse_modality(query.modality, t)
    if query.therapist_id is not None and not therapists:
        raise NotFound("No such therapist.")
    ids = [th.id for th in therapists]
    found: list[FoundSlot] = []
    calendars: repository.Calendars | None = None
    # Day-window pagination: the earliest `limit` slots usually lie in the first days, so
    # read busy times a window at a time (1, 2, 4 ... days) and stop once the page is full.
    # Every slot of a later window is later than every slot of an earlier one.
    span = _DAY if query.therapist_id is None else end - start
    cursor = start
    while cursor < end and len(found) <= query.limit:
        stop = min(end, cursor + span)
        low, high = cursor - t.buffer_before, stop + t.duration + t.buffer_after
        if calendars is None:
            # The rules of the whole search come with the first window's busy times.
            first, last = _days_around(start - t.buffer_before, end + t.duration + t.buffer_after)
            calendars = await repository.calendars(
                uow.session,
                ids,
                first,
                last,
                known=therapists,
                busy=(low, high),
                exclude=query.moving,
            )
            busy = calendars.busy
        else:
            busy = await repository.therapist_busy(
                uow.session, ids, low, high, exclude=query.moving
            )
        if actor.is_patient:
            own = [
                _own_visit_as_busy(visit, t)
                for visit in await repository.patient_busy(
                    uow.session, actor.id, low, high, exclude=query.moving
                )
            ]
            if own:
                busy = {th: [*busy.get(th, ()), *own] for th in ids}
        found += _slots_between(
            uow.now, t, therapists, calendars, busy, cursor, stop, viewer_zone, query.limit + 1
        )
        cursor, span = stop, span * 2
    found.sort(key=lambda f: (f.slot.start, f.therapist_name))
    return SlotResult(
        slots=found[: query.limit],
        start=start,
        end=end,
        zone=zone_name,
        truncated=len(found) > query.limit,
        appointment_type=t,
    )


def _own_visit_as_busy(visit: Interval, t: AppointmentType) -> Interval:
    """A patient's own visit as a busy span for slots of type `t`.

    The slot search widens each slot by the type's buffers (the therapist's time before and
    after), but the patient is busy only for the visit itself, and booking refuses only an
    overlap of the visits. Narrowing the visit by the same buffers makes the search refuse
    exactly what booking refuses; a visit shorter than the buffers stays whole (a few more
    times hidden, none offered that booking would refuse).
    """
    start, end = visit.start + t.buffer_after, visit.end - t.buffer_before
    return Interval(start, end) if start < end else visit


def _slots_between(
    now: datetime,
    t: AppointmentType,
    therapists: Sequence[User],
    calendars: repository.Calendars,
    busy: dict[uuid.UUID, list[Interval]],
    start: datetime,
    end: datetime,
    viewer_zone: ZoneInfo,
    limit: int,
) -> list[FoundSlot]:
    low, high = start - t.buffer_before, end + t.duration + t.buffer_after
    found: list[FoundSlot] = []
    for th in therapists:
        availability = calendars.rules[th.id]
        open_ = expand(availability, low, high, closed_dates=calendars.closed)
        for slot in find_slots(
            appointment_type=t,
            availability=open_,
            busy=busy.get(th.id, ()),
            now=now,
            window_start=start,
            window_end=end,
            align_zone=availability.tz,
            viewer_zone=viewer_zone,
            # One more than asked, to tell the client that there is more after this page.
            limit=limit,
        ):
            found.append(FoundSlot(th.id, th.display_name, slot))
    return found


# --- booking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    """What to book. Patients leave patient_id out; therapists leave therapist_id out."""

    type_key: str
    modality: str
    start: datetime
    patient_id: uuid.UUID | None = None
    therapist_id: uuid.UUID | None = None
    reason: str = ""


Presenter = Callable[[AppointmentView], dict[str, Any]]


async def book_appointment(
    services: Services,
    caller: Caller,
    request: BookingRequest,
    present: Presenter,
    idempotency: Idempotency | None = None,
) -> Answer:
    """Book one visit; with an Idempotency-Key the first answer is stored and replayed."""
    return await retrying(lambda: _book_once(services, caller, request, present, idempotency))


async def reschedule(
    services: Services,
    caller: Caller,
    appointment_id: uuid.UUID,
    new_start: datetime,
    expected_version: int | None = None,
) -> AppointmentView:
    """Move a booked visit in one UPDATE of the same row: the new time is held before the old is free."""
    return await retrying(
        lambda: _reschedule_once(services, caller, appointment_id, new_start, expected_version)
    )


async def book_series(services: Services, caller: Caller, request: SeriesRequest) -> SeriesOutcome:
    """Book a weekly series: all or nothing (409 listing conflicts) or the free occurrences."""
    return await retrying(lambda: _book_series_once(services, caller, request))


def overlap_conflict(exc: IntegrityError) -> Conflict | None:
    """The 409 for a violation of the no-overlap constraint, or None for any other integrity error."""
    message = str(exc.orig)
    if OVERLAP_THERAPIST in message:
        return Conflict(
            "The therapist is already booked at that time (or in the preparation and"
            " documentation time around it). Please choose another time.",
            code=ErrorCode.THERAPIST_BUSY,
            details={"constraint": OVERLAP_THERAPIST},
        )
    if OVERLAP_PATIENT in message:
        return Conflict(
            "The patient already has a visit at that time. Please choose another time.",
            code=ErrorCode.PATIENT_BUSY,
            details={"constraint": OVERLAP_PATIENT},
        )
    return None


async def _flush_booking(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        conflict = overlap_conflict(exc)
        if conflict is None:
            raise
        raise conflict from None


async def _add_to_care_team(
    uow: UnitOfWork, patient_id: uuid.UUID, therapist_id: uuid.UUID
) -> None:
    if await accounts_service.add_care_assignment(uow.session, patient_id, therapist_id, uow.now):
        uow.audit(
            AuditRecord(
                "care_team.assign",
                "patient",
                resource_id=str(patient_id),
                patient_id=patient_id,
                details={"therapist_id": str(therapist_id), "by": "booking"},
            )
        )


def _ignored_rules(actor: Actor) -> tuple[BookingProblem, ...]:
    # Staff book on a patient's behalf (a phone call, a same-day gap): the notice rule protects
    # therapists from surprise patient bookings, not from their own scheduling.
    return (BookingProblem.TOO_SOON,) if not actor.is_patient else ()


async def _check_rules(
    uow: UnitOfWork,
    t: AppointmentType,
    therapist_id: uuid.UUID,
    patient_id: uuid.UUID,
    start: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> Interval:
    validate_future_start(start, now=uow.now)
    _within_reach(start, uow.now, "start")
    blocked_low = start - t.buffer_before
    blocked_high = start + t.duration + t.buffer_after
    first, last = _days_around(blocked_low, blocked_high)
    calendars = await repository.calendars(
        uow.session,
        [therapist_id],
        first,
        last,
        busy=(blocked_low, blocked_high),
        exclude=exclude,
    )
    open_ = expand(
        calendars.rules[therapist_id],
        blocked_low - _DAY,
        blocked_high + _DAY,
        closed_dates=calendars.closed,
    )
    busy = calendars.busy
    blocked = ensure_bookable(
        start=start,
        appointment_type=t,
        availability=open_,
        busy=busy.get(therapist_id, ()),
        now=uow.now,
        ignore=_ignored_rules(uow.actor),
    )
    end = start + t.duration
    for other in await repository.patient_busy(
        uow.session, patient_id, start, end, exclude=exclude
    ):
        if overlaps(start, end, other.start, other.end):
            raise Conflict(
                "The patient already has a visit at that time. Please choose another time.",
                code=ErrorCode.PATIENT_BUSY,
            )
    return blocked


async def _book_once(
    services: Services,
    caller: Caller,
    request: BookingRequest,
    present: Presenter,
    idempotency: Idempotency | None = None,
) -> Answer:
    async def book(uow: UnitOfWork) -> Answer:
        row = await _book(uow, services, request)
        await notices.announce_in(uow, services, row, MessageKind.BOOKED)
        return Answer(201, present(await view_of(uow, services, row)))

    return await run_once(services, caller, idempotency, book)


def _booked_row(
    uow: UnitOfWork,
    patient_id: uuid.UUID,
    therapist_id: uuid.UUID,
    type_id: uuid.UUID,
    modality: Modality,
    visit: Interval,
    blocked: Interval,
    *,
    reason: str = "",
    series_id: uuid.UUID | None = None,
) -> Appointment:
    """A new appointment row in status booked; `blocked` is the visit with the type's buffers."""
    return Appointment(
        patient_id=patient_id,
        therapist_id=therapist_id,
        type_id=type_id,
        modality=modality.value,
        status=lifecycle.Status.BOOKED.value,
        start_at=visit.start,
        end_at=visit.end,
        blocked_start=blocked.start,
        blocked_end=blocked.end,
        reason=reason,
        series_id=series_id,
        created_by=uow.actor.id,
        created_at=uow.now,
        updated_at=uow.now,
        late_cancellation=False,
        version=1,
    )


async def _book(uow: UnitOfWork, services: Services, request: BookingRequest) -> Appointment:
    patient, therapist = await access.resolve_booking_parties(
        uow.session, uow.actor, request.patient_id, request.therapist_id
    )
    # Before the rules read who is busy: a colliding booking waits here for this one's commit.
    await lock_calendars(uow.session, therapist.id, patient.id)
    type_row, t = await repository.bookable_type(uow.session, request.type_key)
    require_may_book(uow.actor, t)
    if uow.actor.is_patient and t.within_plan:
        await services.plan_rules(uow, PlannedVisit(patient.id, t.name, request.start))
    modality = parse_modality(request.modality, t)
    blocked = await _check_rules(uow, t, therapist.id, patient.id, request.start)
    row = _booked_row(
        uow,
        patient.id,
        therapist.id,
        type_row.id,
        modality,
        Interval(request.start, request.start + t.duration),
        blocked,
        reason=request.reason[:500],
    )
    uow.session.add(row)
    await _flush_booking(uow.session)
    await _add_to_care_team(uow, patient.id, therapist.id)
    uow.calendar_changed(therapist.id)
    uow.audit(
        appointment_record(
            "appointment.book",
            row,
            therapist_id=str(therapist.id),
            type=t.key,
            modality=modality.value,
            start=row.start_at.isoformat(),
        )
    )
    return row


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """A calendar range and optional filters."""

    start: datetime
    end: datetime
    therapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    include_cancelled: bool = True
    zone: str | None = None


async def list_appointments(
    services: Services, caller: Caller, query: ListQuery
) -> list[AppointmentView]:
    """Appointments visible to the actor starting in a range; audited once per patient read."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await list_appointments_in(uow, services, query)


async def list_appointments_in(
    uow: UnitOfWork, services: Services, query: ListQuery
) -> list[AppointmentView]:
    """`list_appointments` inside the caller's unit of work."""
    start, end = validate_range(query.start, query.end, field="range")
    if end - start > MAX_LIST_SPAN:
        raise InvalidInput(
            f"A calendar range may span at most {MAX_LIST_SPAN.days} days.",
            details={"field": "range"},
        )
    if query.zone:
        resolve_zone(query.zone)
    select_ = access.appointments_visible_to(uow.actor).where(
        Appointment.start_at >= start, Appointment.start_at < end
    )
    if query.therapist_id is not None:
        select_ = select_.where(Appointment.therapist_id == query.therapist_id)
    if query.patient_id is not None:
        select_ = select_.where(Appointment.patient_id == query.patient_id)
    if not query.include_cancelled:
        select_ = select_.where(Appointment.status.not_in(("cancelled",)))
    rows = list((await uow.session.scalars(select_.order_by(Appointment.start_at))).all())
    counts: dict[uuid.UUID, int] = {}
    for row in rows:
        counts[row.patient_id] = counts.get(row.patient_id, 0) + 1
    for patient_id, count in counts.items():
        uow.audit(
            AuditRecord(
                "appointment.list",
                "appointment",
                patient_id=patient_id,
                details={"count": count},
            )
        )
    return await views_of(uow, services, rows, query.zone)


async def upcoming_for_patient_in(
    uow: UnitOfWork, services: Services, limit: int = 10
) -> list[AppointmentView]:
    """The signed-in patient's next active visits (home page)."""
    return await _own_visits(uow, services, upcoming=True, limit=limit)


async def past_for_patient_in(
    uow: UnitOfWork, services: Services, limit: int = 5
) -> list[AppointmentView]:
    """The signed-in patient's latest completed or signed visits, newest first (home page)."""
    return await _own_visits(uow, services, upcoming=False, limit=limit)


async def _own_visits(
    uow: UnitOfWork, services: Services, upcoming: bool, limit: int
) -> list[AppointmentView]:
    query = access.appointments_visible_to(uow.actor).where(Appointment.patient_id == uow.actor.id)
    if upcoming:
        query = query.where(
            Appointment.end_at > uow.now,
            Appointment.status.in_(("booked", "checked_in", "in_progress")),
        ).order_by(Appointment.start_at)
    else:
        # Done, or written up already (a note can be signed before the visit is closed).
        query = query.where(
            or_(Appointment.status == "completed", Appointment.note_signed_at.is_not(None))
        ).order_by(Appointment.start_at.desc())
    rows = list((await uow.session.scalars(query.limit(limit))).all())
    if rows:
        uow.audit(
            AuditRecord(
                "appointment.list",
                "appointment",
                patient_id=uow.actor.id,
                details={"count": len(rows), "upcoming": upcoming},
            )
        )
    return await views_of(uow, services, rows)


async def get_appointment(
    services: Services, caller: Caller, appointment_id: uuid.UUID
) -> AppointmentView:
    """One appointment the actor may see (404 otherwise, audited as denied)."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await get_appointment_in(uow, services, appointment_id)


async def get_appointment_in(
    uow: UnitOfWork, services: Services, appointment_id: uuid.UUID
) -> AppointmentView:
    """`get_appointment` inside the caller's unit of work."""
    row = await visible_or_denied(uow, appointment_id, "appointment.read")
    uow.audit(appointment_record("appointment.read", row))
    return await view_of(uow, services, row)


async def visible_or_denied(
    uow: UnitOfWork, appointment_id: uuid.UUID, action: str, *, for_update: bool = False
) -> Appointment:
    return await uow.guarded(
        access.get_visible_appointment(
            uow.session, uow.actor, appointment_id, for_update=for_update
        ),
        action,
        "appointment",
        str(appointment_id),
    )


# --- lifecycle -----------------------------------------------------------------------------------


async def act(
    services: Services,
    caller: Caller,
    appointment_id: uuid.UUID,
    action: lifecycle.Action,
    reason: str = "",
) -> AppointmentView:
    """Check in, start, complete, cancel or mark a no-show, by the status machine's rules."""
    return await retrying(lambda: _act_once(services, caller, appointment_id, action, reason))


async def _act_once(
    services: Services,
    caller: Caller,
    appointment_id: uuid.UUID,
    action: lifecycle.Action,
    reason: str,
) -> AppointmentView:
    # No calendar lock: a status change takes no new time. The row lock queues two changes of
    # one visit (a check-in and a cancel); FOR NO KEY UPDATE lets a ticket be issued meanwhile.
    async with unit_of_work(services, caller) as uow:
        audit_action = f"appointment.{action.value}"
        row = await visible_or_denied(uow, appointment_id, audit_action, for_update=True)
        type_row = await uow.session.get(AppointmentTypeRow, row.type_id)
        assert type_row is not None
        cutoff = timedelta(minutes=type_row.cancellation_cutoff_minutes)
        before = row.status
        after = lifecycle.transition(
            _state(row, cutoff), action, _life_actor(uow.actor), uow.now, reason=reason
        )
        row.status = after.status.value
        row.checked_in_at = after.checked_in_at
        row.started_at = after.started_at
        row.completed_at = after.completed_at
        row.no_show_at = after.no_show_at
        details: dict[str, Any] = {"from": before, "to": after.status.value}
        if after.cancellation is not None:
            c = after.cancellation
            row.cancelled_at = c.at
            row.cancelled_by = uow.actor.id
            row.cancelled_by_role = c.by_role.value
            row.cancel_reason = c.reason or None
            row.late_cancellation = c.late
            details["late"] = c.late
        row.version += 1
        row.updated_at = uow.now
        await _flush_booking(uow.session)
        uow.calendar_changed(row.therapist_id)
        uow.audit(appointment_record(audit_action, row, **details))
        if after.cancellation is not None:
            await notices.announce_in(uow, services, row, MessageKind.CANCELLED)
        return await view_of(uow, services, row)


async def _reschedule_once(
    services: Services,
    caller: Caller,
    appointment_id: uuid.UUID,
    new_start: datetime,
    expected_version: int | None = None,
) -> AppointmentView:
    async with unit_of_work(services, caller) as uow:
        # Calendar locks come before the row lock (the lock order), so read whose calendars first;
        # an appointment never changes hands, and the locked read below refreshes the rest.
        seen = await visible_or_denied(uow, appointment_id, "appointment.reschedule")
        await lock_calendars(uow.session, seen.therapist_id, seen.patient_id)
        row = await visible_or_denied(
            uow, appointment_id, "appointment.reschedule", for_update=True
        )
        if expected_version is not None and expected_version != row.version:
            raise Conflict(
                "This appointment was changed by someone else; reload and try again.",
                code=ErrorCode.STALE_VERSION,
                details={"version": row.version},
            )
        type_row = await uow.session.get(AppointmentTypeRow, row.type_id)
        assert type_row is not None
        state = _state(row, timedelta(minutes=type_row.cancellation_cutoff_minutes))
        lifecycle.require_unsigned(state, "moved")
        if row.status != lifecycle.Status.BOOKED.value:
            raise Conflict(
                f"Only booked appointments can be rescheduled; this one is {row.status.replace('_', ' ')}.",
                code=ErrorCode.ILLEGAL_TRANSITION,
            )
        t = repository.type_of(type_row)
        if uow.actor.is_patient and row.start_at - uow.now < t.cancellation_cutoff:
            raise Conflict(
                "It is too close to the visit to move it online; please call the clinic.",
                code=ErrorCode.TOO_LATE,
            )
        if uow.actor.is_patient and t.within_plan:
            await services.plan_rules(
                uow, PlannedVisit(row.patient_id, t.name, new_start, moving=row.id)
            )
        blocked = await _check_rules(
            uow, t, row.therapist_id, row.patient_id, new_start, exclude=row.id
        )
        old_start, old_end = row.start_at, row.end_at
        row.start_at = new_start
        row.end_at = new_start + t.duration
        row.blocked_start = blocked.start
        row.blocked_end = blocked.end
        row.version += 1
        row.updated_at = uow.now
        await _flush_booking(uow.session)
        uow.calendar_changed(row.therapist_id)
        uow.audit(
            appointment_record(
                "appointment.reschedule",
                row,
                old_start=old_start.isoformat(),
                old_end=old_end.isoformat(),
                new_start=row.start_at.isoformat(),
                new_end=row.end_at.isoformat(),
            )
        )
        await notices.announce_in(uow, services, row, MessageKind.CHANGED, old_start)
        return replace(await view_of(uow, services, row), moved_from=old_start)


# --- series --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesRequest:
    """A plan-of-care series booking."""

    type_key: str
    modality: str
    weekdays: frozenset[int]
    wall_time: time
    first_day: date
    weeks: int
    patient_id: uuid.UUID
    therapist_id: uuid.UUID | None = None
    zone: str | None = None
    all_or_nothing: bool = True


@dataclass(frozen=True)
class SeriesOutcome:
    """What a series booking did: the booked visits and the occurrences it could not book."""

    series_id: uuid.UUID | None
    booked: list[AppointmentView]
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def _slot_json(slot: Slot) -> dict[str, str]:
    return {
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "local_start": slot.local_start.isoformat(),
        "local_end": slot.local_end.isoformat(),
    }


def _conflicts(plan: SeriesPlan, extra: dict[date, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for occ in plan.conflicting:
        out.append(
            {
                "date": occ.local_day.isoformat(),
                "start": occ.start.isoformat(),
                "problems": [p.value for p in occ.problems],
                "alternatives": [_slot_json(s) for s in occ.alternatives],
            }
        )
    for day, problem in (extra or {}).items():
        out.append({"date": day.isoformat(), "problems": [problem], "alternatives": []})
    return sorted(out, key=lambda c: c["date"])


@dataclass(frozen=True)
class _PlannedSeries:
    """A series request resolved and planned, before anything is written."""

    plan: SeriesPlan
    rule: SeriesRule
    type_row: AppointmentTypeRow
    kind: AppointmentType
    modality: Modality
    patient: User
    therapist: User
    zone: str


async def _plan_series_in(uow: UnitOfWork, request: SeriesRequest, lock: bool) -> _PlannedSeries:
    """Resolve who and what a series is, and plan its occurrences (the calendars locked first
    when the plan is to be booked)."""
    access.require_staff(uow.actor)
    patient, therapist = await access.resolve_booking_parties(
        uow.session, uow.actor, request.patient_id, request.therapist_id
    )
    if lock:
        await lock_calendars(uow.session, therapist.id, patient.id)
    type_row, t = await repository.bookable_type(uow.session, request.type_key)
    modality = parse_modality(request.modality, t)
    zone = request.zone or patient.time_zone
    rule = SeriesRule(
        weekdays=request.weekdays,
        wall_time=request.wall_time,
        zone=zone,
        first_day=request.first_day,
        weeks=request.weeks,
    )
    low, high = series_window(rule)
    first, last = _days_around(low, high)
    calendars = await repository.calendars(
        uow.session, [therapist.id], first, last, known=[therapist], busy=(low, high)
    )
    availability = calendars.rules[therapist.id]
    closed = calendars.closed
    busy = calendars.busy.get(therapist.id, [])
    # The patient's own visits count as busy too (conservatively widened by our buffers).
    busy = busy + await repository.patient_busy(uow.session, patient.id, low, high)
    plan = plan_series(
        rule,
        appointment_type=t,
        availability=expand(availability, low, high, closed_dates=closed),
        busy=busy,
        # Series are booked by staff, who are not held to the notice rule (see _ignored_rules).
        now=uow.now - t.min_notice,
        align_zone=availability.tz,
        viewer_zone=resolve_zone(zone),
    )
    if any(o.start < uow.now for o in plan.bookable):
        raise InvalidInput(
            "The series starts in the past; choose a first day from today on.",
            details={"field": "first_day"},
        )
    return _PlannedSeries(plan, rule, type_row, t, modality, patient, therapist, zone)


@dataclass(frozen=True)
class SeriesPreview:
    """What booking a series would do now: every occurrence, and who it is for."""

    plan: SeriesPlan
    patient: User
    therapist: User
    zone: str


async def preview_series(
    services: Services, caller: Caller, request: SeriesRequest
) -> SeriesPreview:
    """The occurrences of a series and which of them would be refused, booking nothing."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        planned = await _plan_series_in(uow, request, lock=False)
        uow.audit(
            AuditRecord(
                "series.preview",
                "patient",
                resource_id=str(planned.patient.id),
                patient_id=planned.patient.id,
                details={
                    "occurrences": len(planned.plan.occurrences),
                    "refused": len(planned.plan.conflicting),
                },
            )
        )
        return SeriesPreview(planned.plan, planned.patient, planned.therapist, planned.zone)


async def _book_series_once(
    services: Services, caller: Caller, request: SeriesRequest
) -> SeriesOutcome:
    async with unit_of_work(services, caller) as uow:
        planned = await _plan_series_in(uow, request, lock=True)
        plan, rule, type_row, t = planned.plan, planned.rule, planned.type_row, planned.kind
        modality, patient, therapist, zone = (
            planned.modality,
            planned.patient,
            planned.therapist,
            planned.zone,
        )
        if request.all_or_nothing and plan.conflicting:
            raise Conflict(
                f"{len(plan.conflicting)} of {len(plan.occurrences)} visits cannot be booked"
                " as requested; nothing was booked.",
                code=ErrorCode.SERIES_CONFLICTS,
                details={"conflicts": _conflicts(plan)},
            )
        series = AppointmentSeries(
            therapist_id=therapist.id,
            patient_id=patient.id,
            rule={
                "weekdays": sorted(rule.weekdays),
                "time": rule.wall_time.strftime("%H:%M"),
                "zone": rule.zone,
                "first_day": rule.first_day.isoformat(),
                "weeks": rule.weeks,
                "type": t.key,
                "modality": modality.value,
            },
            created_by=uow.actor.id,
            created_at=uow.now,
        )
        uow.session.add(series)
        await uow.session.flush()
        booked: list[Appointment] = []
        lost: dict[date, str] = {}
        for occ in plan.bookable:
            row = _booked_row(
                uow,
                patient.id,
                therapist.id,
                type_row.id,
                modality,
                Interval(occ.start, occ.end),
                Interval(occ.start - t.buffer_before, occ.end + t.buffer_after),
                series_id=series.id,
            )
            if request.all_or_nothing:
                uow.session.add(row)
                await _flush_booking(uow.session)
                booked.append(row)
                continue
            # A savepoint per visit: one lost race costs that visit, not the whole series.
            try:
                async with uow.session.begin_nested():
                    uow.session.add(row)
                    await _flush_booking(uow.session)
                booked.append(row)
            except Conflict as exc:
                lost[occ.local_day] = exc.code
        if not booked:
            raise Conflict(
                "None of the visits of this series can be booked as requested.",
                code=ErrorCode.SERIES_CONFLICTS,
                details={"conflicts": _conflicts(plan, lost)},
            )
        await _add_to_care_team(uow, patient.id, therapist.id)
        uow.calendar_changed(therapist.id)
        for row in booked:
            uow.audit(
                appointment_record(
                    "appointment.book",
                    row,
                    series_id=str(series.id),
                    type=t.key,
                    start=row.start_at.isoformat(),
                )
            )
        uow.audit(
            AuditRecord(
                "series.book",
                "appointment_series",
                resource_id=str(series.id),
                patient_id=patient.id,
                details={"booked": len(booked), "skipped": len(plan.conflicting) + len(lost)},
            )
        )
        return SeriesOutcome(
            series_id=series.id,
            booked=await views_of(uow, services, booked, zone),
            conflicts=_conflicts(plan, lost),
        )


def local_day_of(instant: datetime, zone: str) -> date:
    """The local date of an instant in a zone (for grouping slots by day)."""
    return local_date(instant.astimezone(UTC), resolve_zone(zone))
