"""Request and response models of the scheduling API (validation and OpenAPI from one source)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from telehealth.http.schemas import (
    JsonInt,
    QueryInstant,
    QueryModel,
    RequestModel,
    ResponseModel,
    SafeStr,
    SafeText,
    WallTime,
    WholeNumber,
    ZoneName,
)
from telehealth.scheduling.appointment_types import MAX_DISPLAY_ORDER
from telehealth.scheduling.service import AppointmentView

ModalityName = Literal["virtual", "in_clinic"]
# Longest policy value: the booking horizon, at most a year (the type itself checks the details).
MAX_MINUTES = 60 * 24 * 366
# Field first, WholeNumber last: the bounds then stay in the JSON schema of an optional field.
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES), WholeNumber]
DisplayOrder = Annotated[int, Field(ge=0, le=MAX_DISPLAY_ORDER), WholeNumber]


# --- appointment types ---------------------------------------------------------------------------


class TypeOut(ResponseModel):
    """An appointment type and its timing policy (minutes)."""

    id: uuid.UUID
    key: str
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    booking_horizon_minutes: int
    cancellation_cutoff_minutes: int
    modalities: list[ModalityName]
    billable_evaluation: bool
    is_active: bool
    patient_bookable: bool
    display_order: int
    within_plan: bool


class TypesOut(ResponseModel):
    """The appointment types."""

    items: list[TypeOut]


class TypesQuery(QueryModel):
    """include_inactive is honoured for admins."""

    include_inactive: bool = False


class TypePatch(RequestModel):
    """Admin changes to a type; the type's own rules check the result."""

    name: SafeStr | None = Field(default=None, min_length=1, max_length=120)
    description: SafeText | None = Field(default=None, max_length=2000)
    duration_minutes: Minutes | None = None
    buffer_before_minutes: Minutes | None = None
    buffer_after_minutes: Minutes | None = None
    min_notice_minutes: Minutes | None = None
    booking_horizon_minutes: Minutes | None = None
    cancellation_cutoff_minutes: Minutes | None = None
    modalities: list[ModalityName] | None = Field(default=None, max_length=2)
    billable_evaluation: bool | None = None
    is_active: bool | None = None
    patient_bookable: bool | None = None
    display_order: DisplayOrder | None = None
    within_plan: bool | None = None


class TypeIn(TypePatch):
    """A new type."""

    key: SafeStr = Field(min_length=2, max_length=48)


# --- therapists and availability -----------------------------------------------------------------


class TherapistOut(ResponseModel):
    """A therapist one can book with."""

    id: uuid.UUID
    display_name: str
    time_zone: str


class TherapistsOut(ResponseModel):
    """Active therapists."""

    items: list[TherapistOut]


class WeeklyBlockIO(RequestModel):
    """Working hours on a weekday (0 = Monday), local wall-clock HH:MM."""

    weekday: JsonInt = Field(ge=0, le=6)
    start: WallTime
    end: WallTime


class AvailabilityIn(RequestModel):
    """The zone and the whole weekly pattern (replaces the current one)."""

    time_zone: ZoneName = Field(min_length=1, max_length=64)
    weekly: list[WeeklyBlockIO] = Field(max_length=100)


class ExceptionIn(RequestModel):
    """Time off (whole day without times) or extra hours on one local date."""

    day: date
    kind: Literal["time_off", "extra_hours"]
    start: WallTime | None = None
    end: WallTime | None = None
    note: SafeText = Field(default="", max_length=200)


class ExceptionOut(ResponseModel):
    """A stored exception."""

    id: uuid.UUID
    day: date
    kind: str
    start: WallTime | None
    end: WallTime | None
    note: str


class WeeklyBlockOut(ResponseModel):
    """A stored weekly block."""

    weekday: int
    start: WallTime
    end: WallTime


class AvailabilityOut(ResponseModel):
    """A therapist's availability rules."""

    therapist_id: uuid.UUID
    time_zone: str
    weekly: list[WeeklyBlockOut]
    exceptions: list[ExceptionOut]


class ClosureIn(RequestModel):
    """Close the clinic for a day."""

    day: date
    reason: SafeText = Field(default="", max_length=200)


class ClosureOut(ResponseModel):
    """A day the clinic is closed."""

    day: date
    reason: str


class ClosuresOut(ResponseModel):
    """Upcoming closures."""

    items: list[ClosureOut]


# --- slots ---------------------------------------------------------------------------------------


class SlotsQuery(QueryModel):
    """Slot search: type and modality; a window (default: the next 4 weeks); one or all therapists."""

    type: SafeStr = Field(min_length=1, max_length=48)
    modality: SafeStr = Field(min_length=1, max_length=16)
    start: QueryInstant | None = None
    end: QueryInstant | None = None
    therapist_id: uuid.UUID | None = None
    zone: ZoneName | None = Field(default=None, max_length=64)
    limit: int = Field(default=200, ge=1, le=1000)


class SlotOut(ResponseModel):
    """A free slot: UTC instants and the same in the viewer's zone."""

    therapist_id: uuid.UUID
    therapist_name: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    local_date: date


class SlotsOut(ResponseModel):
    """Free slots earliest first; truncated means there are more after the last one."""

    type: str
    modality: str
    zone: str
    start: datetime
    end: datetime
    truncated: bool
    slots: list[SlotOut]


# --- appointments --------------------------------------------------------------------------------


class BookingIn(RequestModel):
    """Book a visit. Patients book for themselves; therapists for their own patients."""

    type: SafeStr = Field(min_length=1, max_length=48)
    modality: SafeStr = Field(min_length=1, max_length=16)
    start: AwareDatetime
    patient_id: uuid.UUID | None = None
    therapist_id: uuid.UUID | None = None
    reason: SafeText = Field(default="", max_length=500)


class PartyOut(ResponseModel):
    """A person in an appointment."""

    id: uuid.UUID
    name: str


class TypeRef(ResponseModel):
    """The type of an appointment."""

    key: str
    name: str


class AppointmentOut(ResponseModel):
    """An appointment as its viewer sees it, with the actions open to them now."""

    id: uuid.UUID
    status: str
    type: TypeRef
    modality: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    zone: str
    patient: PartyOut
    therapist: PartyOut
    join_url: str | None
    calendar_url: str
    series_id: uuid.UUID | None
    reason: str
    checked_in_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    no_show_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by_role: str | None
    cancel_reason: str | None
    late_cancellation: bool
    version: int
    actions: list[str]
    # The visit's documentation as scheduling sees it: signed means it is no longer moved or
    # cancelled; entered in error means its signed note was withdrawn (the record stays).
    note_signed_at: datetime | None = None
    note_entered_in_error_at: datetime | None = None

    @classmethod
    def of(cls, view: AppointmentView) -> AppointmentOut:
        """Build from a service view."""
        row = view.row
        return cls(
            id=row.id,
            status=row.status,
            type=TypeRef(key=view.type_key, name=view.type_name),
            modality=row.modality,
            start=row.start_at,
            end=row.end_at,
            local_start=view.local_start,
            local_end=view.local_end,
            zone=view.zone,
            patient=PartyOut(id=row.patient_id, name=view.patient_name),
            therapist=PartyOut(id=row.therapist_id, name=view.therapist_name),
            join_url=view.join_url,
            calendar_url=f"/api/v1/appointments/{row.id}/calendar.ics",
            series_id=row.series_id,
            reason=row.reason,
            checked_in_at=row.checked_in_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            no_show_at=row.no_show_at,
            cancelled_at=row.cancelled_at,
            cancelled_by_role=row.cancelled_by_role,
            cancel_reason=row.cancel_reason,
            late_cancellation=row.late_cancellation,
            version=row.version,
            actions=sorted(a.value for a in view.actions),
            note_signed_at=row.note_signed_at,
            note_entered_in_error_at=row.note_entered_in_error_at,
        )


class AppointmentsOut(ResponseModel):
    """Appointments in a range."""

    items: list[AppointmentOut]


class AppointmentsQuery(QueryModel):
    """A calendar range (at most 62 days) and filters."""

    start: QueryInstant
    end: QueryInstant
    therapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    zone: ZoneName | None = Field(default=None, max_length=64)
    include_cancelled: bool = True


class CancelIn(RequestModel):
    """Why the visit is cancelled (required of staff)."""

    reason: SafeText = Field(default="", max_length=500)


class RescheduleIn(RequestModel):
    """The new start; version guards against an edit from another screen."""

    start: AwareDatetime
    version: Annotated[int, Field(ge=1), WholeNumber] | None = None


# --- series --------------------------------------------------------------------------------------


class SeriesIn(RequestModel):
    """ "Twice a week for 6 weeks, Tue+Thu 10:00 local" for one patient."""

    patient_id: uuid.UUID
    therapist_id: uuid.UUID | None = None
    type: SafeStr = Field(min_length=1, max_length=48)
    modality: SafeStr = Field(min_length=1, max_length=16)
    weekdays: list[JsonInt] = Field(min_length=1, max_length=7)
    time: WallTime
    first_day: date
    weeks: JsonInt = Field(ge=1, le=26)
    zone: ZoneName | None = Field(default=None, max_length=64)
    mode: Literal["all_or_nothing", "book_available"] = "all_or_nothing"


class AlternativeOut(ResponseModel):
    """A free slot offered instead of a conflicting occurrence."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime


class SeriesConflictOut(ResponseModel):
    """An occurrence that could not be booked, with the nearest free alternatives."""

    date: date
    start: datetime | None = None
    problems: list[str]
    alternatives: list[AlternativeOut]


class SeriesOut(ResponseModel):
    """The booked visits and the occurrences left out."""

    series_id: uuid.UUID | None
    booked: list[AppointmentOut]
    conflicts: list[SeriesConflictOut]


# --- calendar feeds ------------------------------------------------------------------------------


class FeedOut(ResponseModel):
    """A calendar feed (its secret URL is shown only when created)."""

    id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None


class NewFeedOut(FeedOut):
    """A fresh feed with its secret URL: keep it; it is not shown again."""

    url: str


class FeedsOut(ResponseModel):
    """One's calendar feeds."""

    items: list[FeedOut]
