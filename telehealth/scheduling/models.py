"""Scheduling tables: appointment types, availability rules, appointments, series, feeds, idempotency.

Double bookings are prevented by the database itself, not by a check-then-insert:
- PostgreSQL: exclusion constraints (btree_gist) over (therapist, blocked range) and
  (patient, visit range) for active appointments;
- SQLite: BEFORE INSERT/UPDATE triggers raising on the same overlaps, with every transaction taking
  the write lock at BEGIN IMMEDIATE, so no two writers can interleave between check and insert.
Both raise errors whose message names the constraint (OVERLAP_THERAPIST / OVERLAP_PATIENT), which
the service maps to a 409 naming the conflict.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk

# Statuses that hold time in a calendar; cancelled and no-show appointments free it.
ACTIVE_STATUSES = ("booked", "checked_in", "in_progress", "completed")
INACTIVE_STATUSES = ("cancelled", "no_show")
OVERLAP_THERAPIST = "appointment_overlap_therapist"
OVERLAP_PATIENT = "appointment_overlap_patient"


class AppointmentTypeRow(Base):
    """The editable copy of an appointment type (seeded from appointment_types.SEEDED)."""

    __tablename__ = "appointment_types"

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer)
    min_notice_minutes: Mapped[int] = mapped_column(Integer)
    booking_horizon_minutes: Mapped[int] = mapped_column(Integer)
    cancellation_cutoff_minutes: Mapped[int] = mapped_column(Integer)
    modalities: Mapped[list[str]] = mapped_column(JSON)
    billable_evaluation: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether patients may book it themselves (staff always may); see appointment_types.
    patient_bookable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Patients book it only inside an active plan of care (see appointment_types).
    within_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    # The order people read the types in, lowest first.
    display_order: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AvailabilityRules(Base):
    """The IANA zone a therapist's weekly hours and exceptions are written in."""

    __tablename__ = "availability_rules"

    therapist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    time_zone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class WeeklyHours(Base):
    """One block of working hours on a weekday (0 = Monday), in local wall-clock time."""

    __tablename__ = "weekly_hours"

    id: Mapped[uuid.UUID] = uuid_pk()
    therapist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)


class AvailabilityException(Base):
    """Time off or extra hours on one local date; whole day when start/end are empty."""

    __tablename__ = "availability_exceptions"

    id: Mapped[uuid.UUID] = uuid_pk()
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    start_local: Mapped[time | None] = mapped_column(Time, default=None)
    end_local: Mapped[time | None] = mapped_column(Time, default=None)
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_availability_exceptions_therapist_day", "therapist_id", "day"),)


class ClinicClosure(Base):
    """A date the whole clinic is closed (in the clinic's zone)."""

    __tablename__ = "clinic_closures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class AppointmentSeries(Base):
    """A plan-of-care series: the rule it was booked from."""

    __tablename__ = "appointment_series"

    id: Mapped[uuid.UUID] = uuid_pk()
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Appointment(Base):
    """A booked visit. blocked_* is the visit widened by its type's buffers (the therapist's time)."""

    __tablename__ = "appointments"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment_types.id"))
    modality: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="booked")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    blocked_start: Mapped[datetime]
    blocked_end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500), default="")
    series_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointment_series.id"), default=None
    )
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    checked_in_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    no_show_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    cancelled_by_role: Mapped[str | None] = mapped_column(String(16), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    late_cancellation: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on every change: optimistic concurrency for edits from two screens.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Written by the notes feature (which depends on scheduling, never the other way round), so
    # the scheduling rules can see that the visit is documented: a visit with a note is skipped by
    # the no-show pass, and one with a signed note is no longer moved or cancelled. No foreign key:
    # visit_notes already points here, and a second arrow would make the two tables a cycle.
    note_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    note_signed_at: Mapped[datetime | None] = mapped_column(default=None)
    note_entered_in_error_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_appointments_therapist_blocked", "therapist_id", "blocked_start"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
        Index("ix_appointments_status_start", "status", "start_at"),
    )


class CalendarFeed(Base):
    """A secret, revocable calendar subscription URL; only the token's hash is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
