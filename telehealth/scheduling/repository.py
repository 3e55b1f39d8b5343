"""Rows -> the pure scheduling objects, in as few queries as a request needs.

Services call these inside their unit of work; nothing here authorizes, so nothing here is called
from a handler.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.models import Role, User
from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import (
    MAX_BUFFER,
    MAX_DURATION,
    AppointmentType,
    Modality,
)
from telehealth.scheduling.availability import (
    DateException,
    ExceptionKind,
    WeeklyAvailability,
    WeeklyBlock,
)
from telehealth.scheduling.models import (
    INACTIVE_STATUSES,
    Appointment,
    AppointmentTypeRow,
    AvailabilityException,
    AvailabilityRules,
    ClinicClosure,
    WeeklyHours,
)
from telehealth.scheduling.overlap import Interval

# No blocked interval is longer than this, so "blocked_start >= window start - LONGEST_BLOCK" turns
# an overlap test into a bounded range scan of the (therapist_id, blocked_start) index.
LONGEST_BLOCK = MAX_DURATION + 2 * MAX_BUFFER
# Busy reads filter with "status NOT IN (inactive)" rather than "IN (active)": the same rows (the
# statuses are a closed set), but SQLite's planner then keeps the (therapist_id, blocked_start)
# index for many therapists at once instead of scanning the (status, start_at) index.


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def type_of(row: AppointmentTypeRow) -> AppointmentType:
    """The validated pure type of a stored row."""
    return AppointmentType(
        key=row.key,
        name=row.name,
        duration=_minutes(row.duration_minutes),
        buffer_before=_minutes(row.buffer_before_minutes),
        buffer_after=_minutes(row.buffer_after_minutes),
        min_notice=_minutes(row.min_notice_minutes),
        booking_horizon=_minutes(row.booking_horizon_minutes),
        cancellation_cutoff=_minutes(row.cancellation_cutoff_minutes),
        modalities=frozenset(Modality(m) for m in row.modalities),
        billable_evaluation=row.billable_evaluation,
        description=row.description,
    )


def write_type(row: AppointmentTypeRow, t: AppointmentType) -> None:
    """Copy a validated type onto its row."""
    row.key = t.key
    row.name = t.name
    row.description = t.description
    row.duration_minutes = t.duration // timedelta(minutes=1)
    row.buffer_before_minutes = t.buffer_before // timedelta(minutes=1)
    row.buffer_after_minutes = t.buffer_after // timedelta(minutes=1)
    row.min_notice_minutes = t.min_notice // timedelta(minutes=1)
    row.booking_horizon_minutes = t.booking_horizon // timedelta(minutes=1)
    row.cancellation_cutoff_minutes = t.cancellation_cutoff // timedelta(minutes=1)
    row.modalities = sorted(m.value for m in t.modalities)
    row.billable_evaluation = t.billable_evaluation


async def all_types(session: AsyncSession) -> list[AppointmentTypeRow]:
    """Every stored type, in a stable order."""
    return list(
        (await session.scalars(select(AppointmentTypeRow).order_by(AppointmentTypeRow.name))).all()
    )


async def bookable_type(
    session: AsyncSession, key: str
) -> tuple[AppointmentTypeRow, AppointmentType]:
    """An active type by key, or InvalidInput naming the known keys."""
    rows = {r.key: r for r in await all_types(session) if r.is_active}
    row = rows.get(key)
    if row is None:
        raise InvalidInput(
            f"Unknown appointment type {key!r}; known types: {', '.join(sorted(rows))}.",
            details={"field": "type", "known": sorted(rows)},
        )
    return row, type_of(row)


async def availability_of(
    session: AsyncSession,
    therapist_ids: Sequence[uuid.UUID],
    start_day: date,
    end_day: date,
    known: Sequence[User] = (),
) -> dict[uuid.UUID, WeeklyAvailability]:
    """Each therapist's rules (zone, weekly blocks, exceptions between the days).

    ``known`` therapists (already loaded by the caller) save the query of their default zones.
    """
    zones = {u.id: u.time_zone for u in known}
    missing = [tid for tid in therapist_ids if tid not in zones]
    if missing:
        rows = await session.execute(select(User.id, User.time_zone).where(User.id.in_(missing)))
        zones.update({tid: zone for tid, zone in rows.all()})
    for tid, zone in (
        await session.execute(
            select(AvailabilityRules.therapist_id, AvailabilityRules.time_zone).where(
                AvailabilityRules.therapist_id.in_(therapist_ids)
            )
        )
    ).all():
        zones[tid] = zone
    blocks: dict[uuid.UUID, list[WeeklyBlock]] = defaultdict(list)
    for h in (
        await session.scalars(
            select(WeeklyHours).where(WeeklyHours.therapist_id.in_(therapist_ids))
        )
    ).all():
        blocks[h.therapist_id].append(WeeklyBlock(h.weekday, h.start_local, h.end_local))
    exceptions: dict[uuid.UUID, list[DateException]] = defaultdict(list)
    for e in (
        await session.scalars(
            select(AvailabilityException).where(
                AvailabilityException.therapist_id.in_(therapist_ids),
                AvailabilityException.day >= start_day,
                AvailabilityException.day <= end_day,
            )
        )
    ).all():
        exceptions[e.therapist_id].append(exception_of(e))
    return {
        tid: WeeklyAvailability(
            zone=zones[tid],
            blocks=tuple(blocks.get(tid, ())),
            exceptions=tuple(exceptions.get(tid, ())),
        )
        for tid in therapist_ids
        if tid in zones
    }


def exception_of(row: AvailabilityException) -> DateException:
    """The pure exception of a stored row."""
    return DateException(row.day, ExceptionKind(row.kind), row.start_local, row.end_local)


async def closed_days(session: AsyncSession, start_day: date, end_day: date) -> list[date]:
    """Clinic closures between two dates (inclusive)."""
    return list(
        (
            await session.scalars(
                select(ClinicClosure.day).where(
                    ClinicClosure.day >= start_day, ClinicClosure.day <= end_day
                )
            )
        ).all()
    )


async def therapist_busy(
    session: AsyncSession,
    therapist_ids: Iterable[uuid.UUID],
    start: datetime,
    end: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[Interval]]:
    """Blocked intervals (buffers included) of active appointments touching [start, end)."""
    query = select(
        Appointment.therapist_id, Appointment.blocked_start, Appointment.blocked_end
    ).where(
        Appointment.therapist_id.in_(list(therapist_ids)),
        Appointment.blocked_start >= start - LONGEST_BLOCK,
        Appointment.blocked_start < end,
        Appointment.blocked_end > start,
        Appointment.status.not_in(INACTIVE_STATUSES),
    )
    if exclude is not None:
        query = query.where(Appointment.id != exclude)
    busy: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for tid, b_start, b_end in (await session.execute(query)).all():
        busy[tid].append(Interval(b_start, b_end))
    return busy


async def patient_busy(
    session: AsyncSession,
    patient_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> list[Interval]:
    """Visit intervals (no buffers: they are the therapist's time) of a patient's active visits."""
    query = select(Appointment.start_at, Appointment.end_at).where(
        Appointment.patient_id == patient_id,
        Appointment.start_at >= start - MAX_DURATION,
        Appointment.start_at < end,
        Appointment.end_at > start,
        Appointment.status.not_in(INACTIVE_STATUSES),
    )
    if exclude is not None:
        query = query.where(Appointment.id != exclude)
    return [Interval(s, e) for s, e in (await session.execute(query)).all()]


async def active_therapists(session: AsyncSession) -> list[User]:
    """Every active therapist, by name."""
    return list(
        (
            await session.scalars(
                select(User)
                .where(User.role == Role.THERAPIST.value, User.is_active.is_(True))
                .order_by(User.display_name)
            )
        ).all()
    )
