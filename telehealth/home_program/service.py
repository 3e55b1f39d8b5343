"""The patient's Today: the home program in force with the day's done marks, and the marks and
session logs she adds; each scoped to the patient herself and audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telehealth.accounts.access import get_visible_patient
from telehealth.audit.chain import AuditRecord
from telehealth.catalog.store import CatalogStore
from telehealth.errors import InvalidInput, NotFound
from telehealth.home_program import rules
from telehealth.home_program.models import ExerciseDone, SessionLog
from telehealth.notes.service import CurrentExercise, current_exercises_in
from telehealth.unit_of_work import Services, UnitOfWork

RESOURCE = "home_program"


@dataclass(frozen=True)
class TodayExercise:
    """One exercise on Today: the prescription in words and whether it is done today."""

    current: CurrentExercise
    amount: str
    how_often: str
    hold_seconds: int
    done_today: bool
    done_this_week: int
    per_week: int


@dataclass(frozen=True)
class LoggedSession:
    """A session log as Today shows it."""

    pain: int
    difficulty: str
    comment: str


@dataclass(frozen=True)
class Today:
    """The patient's day: its date, the exercises for it, the rest of the week's, and logs."""

    day: date
    exercises: tuple[TodayExercise, ...]
    other_days: tuple[TodayExercise, ...]
    logs: tuple[LoggedSession, ...]


def _patient_only(uow: UnitOfWork) -> None:
    if not uow.actor.is_patient:
        raise NotFound("Today's exercises are a patient's page.")


def _today(uow: UnitOfWork) -> date:
    return rules.local_day(uow.now, uow.actor.time_zone)


async def today_in(uow: UnitOfWork, services: Services, catalogs: CatalogStore) -> Today:
    """The patient's own exercises for today, with this week's done marks and today's logs."""
    _patient_only(uow)
    day = _today(uow)
    monday, sunday = rules.week_of(day)
    program = await current_exercises_in(uow, services, catalogs)
    marks = (
        await uow.session.scalars(
            select(ExerciseDone).where(
                ExerciseDone.patient_id == uow.actor.id,
                ExerciseDone.local_date >= monday,
                ExerciseDone.local_date <= sunday,
            )
        )
    ).all()
    logs = (
        await uow.session.scalars(
            select(SessionLog)
            .where(SessionLog.patient_id == uow.actor.id, SessionLog.local_date == day)
            .order_by(SessionLog.logged_at, SessionLog.id)
        )
    ).all()
    todays: list[TodayExercise] = []
    others: list[TodayExercise] = []
    for item in program:
        prescription = item.exercise.prescription
        assert prescription is not None  # every current exercise comes from a signed note
        week = [m for m in marks if m.exercise_id == item.exercise.exercise_id]
        done_today = any(m.local_date == day for m in week)
        entry = TodayExercise(
            current=item,
            amount=rules.dosage_words(
                prescription.sets,
                prescription.repetitions,
                prescription.hold_seconds,
                prescription.per_day,
            ),
            how_often=rules.week_words(prescription.per_week),
            hold_seconds=prescription.hold_seconds,
            done_today=done_today,
            done_this_week=len(week),
            per_week=prescription.per_week,
        )
        if rules.is_todays(prescription.per_week, len(week), done_today):
            todays.append(entry)
        else:
            others.append(entry)
    uow.audit(
        AuditRecord(
            "home_program.read",
            RESOURCE,
            patient_id=uow.actor.id,
            details={"exercises": len(program), "done_today": sum(e.done_today for e in todays)},
        )
    )
    return Today(
        day=day,
        exercises=tuple(todays),
        other_days=tuple(others),
        logs=tuple(
            LoggedSession(r.pain, rules.DIFFICULTIES.get(r.difficulty, r.difficulty), r.comment)
            for r in logs
        ),
    )


def _check_day(uow: UnitOfWork, day: date) -> None:
    if not rules.allowed_day(day, _today(uow)):
        raise InvalidInput(
            "That day cannot be marked: only today or yesterday.", details=[{"field": "day"}]
        )


async def mark_done_in(
    uow: UnitOfWork,
    services: Services,
    catalogs: CatalogStore,
    exercise_id: str,
    day: date,
    client_id: uuid.UUID,
) -> bool:
    """Mark one exercise of the patient's program done on `day`; False when it already was
    (a second press, a retry or a replayed offline mark stores nothing more)."""
    _patient_only(uow)
    _check_day(uow, day)
    program = await current_exercises_in(uow, services, catalogs)
    if exercise_id not in {item.exercise.exercise_id for item in program}:
        raise NotFound("That exercise is not in your home program.")
    row = ExerciseDone(
        patient_id=uow.actor.id,
        exercise_id=exercise_id,
        local_date=day,
        done_at=uow.now,
        client_id=client_id,
    )
    created = await _insert_once(uow, row)
    uow.audit(
        AuditRecord(
            "home_program.done",
            RESOURCE,
            resource_id=exercise_id,
            patient_id=uow.actor.id,
            details={"day": day.isoformat(), "stored": created},
        )
    )
    return created


async def log_session_in(
    uow: UnitOfWork,
    day: date,
    client_id: uuid.UUID,
    pain: int,
    difficulty: rules.Difficulty,
    comment: str,
) -> bool:
    """Keep the patient's log of a session; False when this form's log was kept already."""
    _patient_only(uow)
    _check_day(uow, day)
    row = SessionLog(
        patient_id=uow.actor.id,
        local_date=day,
        logged_at=uow.now,
        client_id=client_id,
        pain=pain,
        difficulty=difficulty,
        comment=comment,
    )
    created = await _insert_once(uow, row)
    uow.audit(
        AuditRecord(
            "home_program.log",
            RESOURCE,
            patient_id=uow.actor.id,
            details={"day": day.isoformat(), "pain": pain, "stored": created},
        )
    )
    return created


async def _insert_once(uow: UnitOfWork, row: ExerciseDone | SessionLog) -> bool:
    # The unique keys decide: a concurrent or repeated insert waits for the first one's commit
    # (PostgreSQL) or its turn (SQLite), then fails here, and the savepoint keeps the rest.
    try:
        async with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class DayRecord:
    """One day of a patient's home program as staff read it."""

    day: date
    done: tuple[str, ...]
    pains: tuple[int, ...]
    difficulties: tuple[str, ...]
    comments: tuple[str, ...]


@dataclass(frozen=True)
class PatientLogs:
    """A patient's home program logs, newest day first."""

    patient_id: uuid.UUID
    patient_name: str
    days: tuple[DayRecord, ...]


async def patient_logs_in(
    uow: UnitOfWork, catalogs: CatalogStore, patient_id: uuid.UUID
) -> PatientLogs:
    """A patient's done marks and session logs by day, for staff who may see the patient."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "home_program.staff_read",
        RESOURCE,
        str(patient_id),
    )
    marks = (
        await uow.session.scalars(
            select(ExerciseDone)
            .where(ExerciseDone.patient_id == patient.id)
            .order_by(ExerciseDone.local_date, ExerciseDone.exercise_id)
        )
    ).all()
    logs = (
        await uow.session.scalars(
            select(SessionLog)
            .where(SessionLog.patient_id == patient.id)
            .order_by(SessionLog.logged_at, SessionLog.id)
        )
    ).all()
    catalog = await catalogs.current(uow.session)

    def name(exercise_id: str) -> str:
        entry = catalog.exercises.get(exercise_id)
        return entry.name if entry is not None else exercise_id

    days = sorted({m.local_date for m in marks} | {r.local_date for r in logs}, reverse=True)
    records = tuple(
        DayRecord(
            day=d,
            done=tuple(name(m.exercise_id) for m in marks if m.local_date == d),
            pains=tuple(r.pain for r in logs if r.local_date == d),
            difficulties=tuple(
                rules.DIFFICULTIES.get(r.difficulty, r.difficulty)
                for r in logs
                if r.local_date == d
            ),
            comments=tuple(r.comment for r in logs if r.local_date == d and r.comment),
        )
        for d in days
    )
    uow.audit(
        AuditRecord(
            "home_program.staff_read",
            RESOURCE,
            patient_id=patient.id,
            details={"days": len(records)},
        )
    )
    return PatientLogs(patient.id, patient.display_name, records)
