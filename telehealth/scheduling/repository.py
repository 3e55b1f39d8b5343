"""Rows -> the pure scheduling objects, in as few queries as a request needs.

Services call these inside their unit of work; nothing here authorizes, so nothing here is called
from a handler.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Select,
    String,
    Time,
    Uuid,
    and_,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.models import Role, User
from telehealth.errors import InvalidInput
from telehealth.orm import UTCDateTime
from telehealth.scheduling.appointment_types import (
    MAX_BUFFER,
    MAX_DURATION,
    AppointmentType,
    Modality,
)
from telehealth.scheduling.availability.rules import (
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
        patient_bookable=row.patient_bookable,
        display_order=row.display_order,
        within_plan=row.within_plan,
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
    row.patient_bookable = t.patient_bookable
    row.display_order = t.display_order
    row.within_plan = t.within_plan


async def all_types(session: AsyncSession) -> list[AppointmentTypeRow]:
    """Every stored type, in the order people read them (display order, then name)."""
    statement = select(AppointmentTypeRow).order_by(
        AppointmentTypeRow.display_order, AppointmentTypeRow.name, AppointmentTypeRow.key
    )
    return list((await session.scalars(statement)).all())


async def bookable_type(
    session: AsyncSession, key: str
) -> tuple[AppointmentTypeRow, AppointmentType]:
    """An active type by key, or InvalidInput naming the known keys."""
    rows = {r.key: r for r in await all_types(session) if r.is_active}
    row = rows.get(key)
    if row is None:
        raise _unknown_type(key, rows)
    return row, type_of(row)


def _unknown_type(key: str, known: Iterable[str]) -> InvalidInput:
    names = sorted(known)
    return InvalidInput(
        f"Unknown appointment type {key!r}; known types: {', '.join(names)}.",
        details={"field": "type", "known": names},
    )


async def unknown_type(session: AsyncSession, key: str) -> InvalidInput:
    """The error for a key that names no active type (it lists the keys that do)."""
    return _unknown_type(key, (r.key for r in await all_types(session) if r.is_active))


@cache
def _subjects_statement(one_therapist: bool) -> Select[AppointmentTypeRow, User]:
    therapists = and_(User.role == Role.THERAPIST.value, User.is_active.is_(True))
    if one_therapist:
        therapists = and_(therapists, User.id == bindparam("therapist_id"))
    return (
        select(AppointmentTypeRow, User)
        .outerjoin(User, therapists)
        .where(AppointmentTypeRow.key == bindparam("key"), AppointmentTypeRow.is_active.is_(True))
        .order_by(User.display_name)
    )


async def type_and_therapists(
    session: AsyncSession, key: str, therapist_id: uuid.UUID | None
) -> tuple[AppointmentTypeRow, list[User]] | None:
    """The active type of a key and the active therapists (the one named, or all by name).

    One statement: the type LEFT JOIN the therapists, so a type with no therapist still answers.
    None when no active type has the key.
    """
    params: dict[str, Any] = {"key": key}
    if therapist_id is not None:
        params["therapist_id"] = therapist_id
    rows = (await session.execute(_subjects_statement(therapist_id is not None), params)).all()
    if not rows:
        return None
    return rows[0][0], [user for _, user in rows if user is not None]


@dataclass(frozen=True)
class Calendars:
    """What the slot search and the booking check know of some therapists' time."""

    rules: dict[uuid.UUID, WeeklyAvailability]
    closed: list[date]
    busy: dict[uuid.UUID, list[Interval]] = field(default_factory=dict)


# The calendar read is one UNION ALL of the tables below, so a search or a booking check costs one
# round trip instead of one per table. Every branch fills the columns it has and NULL elsewhere;
# each branch keeps its own index (the busy branch is the same range scan as ``therapist_busy``).
_ZONE, _DEFAULT_ZONE, _HOURS, _EXCEPTION, _CLOSED, _BUSY = (
    "zone",
    "default_zone",
    "hours",
    "exception",
    "closed",
    "busy",
)


def _calendar_row(
    kind: str,
    therapist_id: Any = None,
    text: Any = None,
    weekday: Any = None,
    day: Any = None,
    start_local: Any = None,
    end_local: Any = None,
    start_at: Any = None,
    end_at: Any = None,
) -> list[Any]:
    # Typed NULLs: PostgreSQL resolves a union's column types pairwise, and two bare NULLs make text.
    def given(value: Any, type_: Any, label: str) -> Any:
        return (cast(null(), type_) if value is None else value).label(label)

    return [
        literal_column(f"'{kind}'", String).label("kind"),
        given(therapist_id, Uuid(), "therapist_id"),
        given(text, String(), "text"),
        given(weekday, Integer(), "weekday"),
        given(day, Date(), "day"),
        given(start_local, Time(), "start_local"),
        given(end_local, Time(), "end_local"),
        given(start_at, UTCDateTime(), "start_at"),
        given(end_at, UTCDateTime(), "end_at"),
    ]


@cache
def _calendar_statement(
    with_busy: bool, with_default_zones: bool, with_exclude: bool
) -> CompoundSelect[Any]:
    # Built once per shape: composing and cache-keying a five-branch union costs more than running
    # it, so each request only binds its values.
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    branches = [
        select(
            *_calendar_row(
                _HOURS,
                therapist_id=WeeklyHours.therapist_id,
                weekday=WeeklyHours.weekday,
                start_local=WeeklyHours.start_local,
                end_local=WeeklyHours.end_local,
            )
        ).where(WeeklyHours.therapist_id.in_(ids)),
        select(
            *_calendar_row(
                _ZONE, therapist_id=AvailabilityRules.therapist_id, text=AvailabilityRules.time_zone
            )
        ).where(AvailabilityRules.therapist_id.in_(ids)),
        select(
            *_calendar_row(
                _EXCEPTION,
                therapist_id=AvailabilityException.therapist_id,
                text=AvailabilityException.kind,
                day=AvailabilityException.day,
                start_local=AvailabilityException.start_local,
                end_local=AvailabilityException.end_local,
            )
        ).where(
            AvailabilityException.therapist_id.in_(ids),
            AvailabilityException.day >= bindparam("first_day"),
            AvailabilityException.day <= bindparam("last_day"),
        ),
        select(*_calendar_row(_CLOSED, day=ClinicClosure.day)).where(
            ClinicClosure.day >= bindparam("first_day"), ClinicClosure.day <= bindparam("last_day")
        ),
    ]
    if with_default_zones:
        branches.append(
            select(*_calendar_row(_DEFAULT_ZONE, therapist_id=User.id, text=User.time_zone)).where(
                User.id.in_(bindparam("unknown_ids", expanding=True))
            )
        )
    if with_busy:
        branches.append(
            select(
                *_calendar_row(
                    _BUSY,
                    therapist_id=Appointment.therapist_id,
                    start_at=Appointment.blocked_start,
                    end_at=Appointment.blocked_end,
                )
            ).where(*_busy_conditions(with_exclude))
        )
    return union_all(*branches)


async def calendars(
    session: AsyncSession,
    therapist_ids: Sequence[uuid.UUID],
    start_day: date,
    end_day: date,
    *,
    known: Sequence[User] = (),
    busy: tuple[datetime, datetime] | None = None,
    exclude: uuid.UUID | None = None,
) -> Calendars:
    """Each therapist's rules (zone, weekly blocks, exceptions between the days), the clinic's
    closures between the days and, when asked, the busy intervals touching ``busy``; one statement.

    ``known`` therapists (already loaded by the caller) save the branch reading their default zones.
    """
    ids = list(therapist_ids)
    zones = {u.id: u.time_zone for u in known}
    unknown = [tid for tid in ids if tid not in zones]
    params: dict[str, Any] = {"ids": ids, "first_day": start_day, "last_day": end_day}
    if unknown:
        params["unknown_ids"] = unknown
    if busy is not None:
        params.update(_busy_params(busy[0], busy[1], exclude))
    statement = _calendar_statement(busy is not None, bool(unknown), exclude is not None)
    rule_zones: dict[uuid.UUID, str] = {}
    blocks: dict[uuid.UUID, list[WeeklyBlock]] = defaultdict(list)
    exceptions: dict[uuid.UUID, list[DateException]] = defaultdict(list)
    closed: list[date] = []
    busy_of: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    rows = (await session.execute(statement, params)).all()
    for kind, tid, text, weekday, day, start_local, end_local, start_at, end_at in rows:
        if kind == _BUSY:
            busy_of[tid].append(Interval(start_at, end_at))
        elif kind == _HOURS:
            blocks[tid].append(WeeklyBlock(weekday, start_local, end_local))
        elif kind == _EXCEPTION:
            exceptions[tid].append(DateException(day, ExceptionKind(text), start_local, end_local))
        elif kind == _ZONE:
            rule_zones[tid] = text
        elif kind == _DEFAULT_ZONE:
            zones[tid] = text
        else:
            closed.append(day)
    zones.update(rule_zones)
    rules = {
        tid: WeeklyAvailability(
            zone=zones[tid],
            blocks=tuple(blocks.get(tid, ())),
            exceptions=tuple(exceptions.get(tid, ())),
        )
        for tid in ids
        if tid in zones
    }
    return Calendars(rules, closed, busy_of)


def exception_of(row: AvailabilityException) -> DateException:
    """The pure exception of a stored row."""
    return DateException(row.day, ExceptionKind(row.kind), row.start_local, row.end_local)


def _busy_conditions(with_exclude: bool) -> list[ColumnElement[bool]]:
    conditions = [
        Appointment.therapist_id.in_(bindparam("ids", expanding=True)),
        Appointment.blocked_start >= bindparam("busy_floor"),
        Appointment.blocked_start < bindparam("busy_end"),
        Appointment.blocked_end > bindparam("busy_start"),
        Appointment.status.not_in(INACTIVE_STATUSES),
    ]
    if with_exclude:
        conditions.append(Appointment.id != bindparam("exclude"))
    return conditions


def _busy_params(start: datetime, end: datetime, exclude: uuid.UUID | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "busy_floor": start - LONGEST_BLOCK,
        "busy_start": start,
        "busy_end": end,
    }
    if exclude is not None:
        params["exclude"] = exclude
    return params


@cache
def _busy_statement(with_exclude: bool) -> Select[uuid.UUID, datetime, datetime]:
    return select(
        Appointment.therapist_id, Appointment.blocked_start, Appointment.blocked_end
    ).where(*_busy_conditions(with_exclude))


async def therapist_busy(
    session: AsyncSession,
    therapist_ids: Iterable[uuid.UUID],
    start: datetime,
    end: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[Interval]]:
    """Blocked intervals (buffers included) of active appointments touching [start, end)."""
    params = {"ids": list(therapist_ids), **_busy_params(start, end, exclude)}
    busy: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for tid, b_start, b_end in (
        await session.execute(_busy_statement(exclude is not None), params)
    ).all():
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
