"""The raw-driver floor of the pages benchmark: the benchmarked pages, each done with as little as a
Python service on aiohttp can do and still do the same work.

For each page a bare aiohttp handler (no middleware, no ORM, no unit of work) runs the SQL our server
runs for one view of that page through the raw driver (asyncpg on PostgreSQL, the standard library's
sqlite3 on SQLite):

* the session lookup by token hash, and the last-seen write when it is due (at most once a second
  per session, by our server's own rule);
* the page's reads, statement for statement as our server emits them (the same columns, the same
  conditions, in the same transactions; the session lookup, one statement, runs in none);
* the audit-trail rows our server inserts for that view (the booking page inserts none);

then renders the same jinja2 template from web/templates, with a context of the same shape (light
dataclasses carrying the attributes the templates read). What is left between this and our server is
the framework: middleware, the ORM (building statements, loading objects), the unit of work and
their per-request objects. The targets printed by benchmarks/pages.py are set against this floor.

The domain rules the pages need are our server's own, imported rather than rewritten: the slot
search (weekly hours expanded, free slots found), local dates and times, the session's expiry. Only
pure modules of telehealth are imported: nothing that imports SQLAlchemy or the web layer.

It serves the views the benchmark loads: the patient's home, booking (the form, or one therapist's
free slots), the therapist's agenda (a day, or a week) and the note editor. Other views of these
paths (another role's home, a search across all therapists) answer 501.

benchmarks/pages.py starts it in its own process with our server's TELEHEALTH_* environment, so both
read the same database and configuration:

    .venv/bin/python -m benchmarks.pages_floor --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import asyncpg
import jinja2
from aiohttp import web

from telehealth.accounts.rules import SessionTimes, needs_touch, session_expired
from telehealth.actors import Actor, Role
from telehealth.config import Settings
from telehealth.http.locale import uses_12_hour_clock
from telehealth.intake.triage import Tier, load_table
from telehealth.resources import web_dir
from telehealth.scheduling import booking_guide
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
    expand,
)
from telehealth.scheduling.localtime import local_day_start, resolve_zone
from telehealth.scheduling.overlap import Interval
from telehealth.scheduling.slots import Slot, find_slots
from telehealth.time_words import clock, clock_range, local_clock
from telehealth.tokens import hash_token
from telehealth.visits.rules import OPENS_BEFORE
from telehealth.visits.timing import opens_words

Row = Sequence[Any]

# --- the statements, as our server emits them ----------------------------------------------------
#
# Copied from the SQL our server sends for one view of each page (SQLAlchemy's echo), with `?` for
# each parameter (numbered $1, $2 ... for PostgreSQL) and {fragments} where the two dialects' texts
# differ. One small liberty, which changes no plan: "LIMIT ?" where SQLite's text adds "OFFSET 0".
# Like ours, it sends every audit row of a view in one INSERT.

_USER = (
    "users.id, users.email, users.display_name, users.role, users.password_hash, users.is_active,"
    " users.time_zone, users.phone, users.date_of_birth, users.created_at, users.updated_at,"
    " users.deactivated_at"
)
_TYPE = (
    'appointment_types.id, appointment_types."key", appointment_types.name,'
    " appointment_types.description, appointment_types.duration_minutes,"
    " appointment_types.buffer_before_minutes, appointment_types.buffer_after_minutes,"
    " appointment_types.min_notice_minutes, appointment_types.booking_horizon_minutes,"
    " appointment_types.cancellation_cutoff_minutes, appointment_types.modalities,"
    " appointment_types.billable_evaluation, appointment_types.is_active,"
    " appointment_types.patient_bookable, appointment_types.display_order,"
    " appointment_types.created_at, appointment_types.updated_at"
)
_APPOINTMENT = (
    "appointments.id, appointments.patient_id, appointments.therapist_id, appointments.type_id,"
    " appointments.modality, appointments.status, appointments.start_at, appointments.end_at,"
    " appointments.blocked_start, appointments.blocked_end, appointments.reason,"
    " appointments.series_id, appointments.created_by, appointments.created_at,"
    " appointments.updated_at, appointments.checked_in_at, appointments.started_at,"
    " appointments.completed_at, appointments.no_show_at, appointments.cancelled_at,"
    " appointments.cancelled_by, appointments.cancelled_by_role, appointments.cancel_reason,"
    " appointments.late_cancellation, appointments.version, appointments.note_id,"
    " appointments.note_signed_at, appointments.note_entered_in_error_at"
)

SESSION = (
    "SELECT auth_sessions.token_hash, auth_sessions.user_id, auth_sessions.csrf_token,"
    " auth_sessions.created_at, auth_sessions.last_seen_at, auth_sessions.expires_at,"
    " auth_sessions.ip, auth_sessions.user_agent, users.id, users.email, users.display_name,"
    " users.role, users.password_hash, users.is_active, users.time_zone, users.phone,"
    " users.date_of_birth, users.created_at AS created_at_1, users.updated_at,"
    " users.deactivated_at FROM auth_sessions JOIN users ON users.id = auth_sessions.user_id"
    " WHERE auth_sessions.token_hash = ?"
)
TOUCH = (
    "UPDATE auth_sessions SET last_seen_at=? WHERE auth_sessions.token_hash = ?"
    " AND auth_sessions.last_seen_at < ?"
)
USER_BY_ID = f"SELECT {_USER} FROM users WHERE users.id = ?"
CARE_TEAM = (
    f"SELECT {_USER} FROM users JOIN care_assignments ON care_assignments.therapist_id = users.id"
    " WHERE care_assignments.patient_id = ? ORDER BY users.display_name"
)
UPCOMING = (
    f"SELECT {_APPOINTMENT} FROM appointments WHERE appointments.patient_id = ?"
    " AND appointments.patient_id = ? AND appointments.end_at > ?"
    " AND appointments.status IN (?, ?, ?) ORDER BY appointments.start_at LIMIT ?"
)
PAST = (
    f"SELECT {_APPOINTMENT} FROM appointments WHERE appointments.patient_id = ?"
    " AND appointments.patient_id = ? AND (appointments.status = ?"
    " OR appointments.note_signed_at IS NOT NULL) ORDER BY appointments.start_at DESC LIMIT ?"
)
LATEST_INTAKE = (
    "SELECT screening_intakes.id, screening_intakes.tier, screening_intakes.created_at"
    " FROM screening_intakes WHERE screening_intakes.patient_id = ?"
    " ORDER BY screening_intakes.created_at DESC LIMIT 1"
)
USERS_IN = f"SELECT {_USER} FROM users WHERE users.id IN ({{marks}})"
TYPES_IN = f"SELECT {_TYPE} FROM appointment_types WHERE appointment_types.id IN ({{marks}})"
NAMES_IN = "SELECT users.id, users.display_name FROM users WHERE users.id IN ({marks})"
ALL_TYPES = f"SELECT {_TYPE} FROM appointment_types ORDER BY appointment_types.name"
THERAPISTS = (
    f"SELECT {_USER} FROM users WHERE users.role = ? AND users.is_active IS {{true}}"
    " ORDER BY users.display_name"
)
TYPE_AND_THERAPIST = (
    f"SELECT {_TYPE}, users.id AS id_1, users.email, users.display_name, users.role,"
    " users.password_hash, users.is_active AS is_active_1, users.time_zone, users.phone,"
    " users.date_of_birth, users.created_at AS created_at_1, users.updated_at AS updated_at_1,"
    " users.deactivated_at FROM appointment_types LEFT OUTER JOIN users ON users.role = ?"
    ' AND users.is_active IS {true} AND users.id = ? WHERE appointment_types."key" = ?'
    " AND appointment_types.is_active IS {true} ORDER BY users.display_name"
)
# Our server's one round trip for a slot search: a therapist's rules, the clinic's closures and the
# busy times, one UNION ALL (scheduling/repository.py, _calendar_statement).
CALENDAR = (
    "SELECT 'hours' AS kind, weekly_hours.therapist_id AS therapist_id, CAST(NULL AS VARCHAR) AS"
    " text, weekly_hours.weekday AS weekday, CAST(NULL AS DATE) AS day, weekly_hours.start_local AS"
    " start_local, weekly_hours.end_local AS end_local, CAST(NULL AS {instant}) AS start_at,"
    " CAST(NULL AS {instant}) AS end_at FROM weekly_hours WHERE weekly_hours.therapist_id IN (?)"
    " UNION ALL SELECT 'zone' AS kind, availability_rules.therapist_id AS therapist_id,"
    " availability_rules.time_zone AS text, CAST(NULL AS INTEGER) AS weekday, CAST(NULL AS DATE)"
    " AS day, CAST(NULL AS {wall}) AS start_local, CAST(NULL AS {wall}) AS end_local,"
    " CAST(NULL AS {instant}) AS start_at, CAST(NULL AS {instant}) AS end_at FROM"
    " availability_rules WHERE availability_rules.therapist_id IN (?) UNION ALL SELECT"
    " 'exception' AS kind, availability_exceptions.therapist_id AS therapist_id,"
    " availability_exceptions.kind AS text, CAST(NULL AS INTEGER) AS weekday,"
    " availability_exceptions.day AS day, availability_exceptions.start_local AS start_local,"
    " availability_exceptions.end_local AS end_local, CAST(NULL AS {instant}) AS start_at,"
    " CAST(NULL AS {instant}) AS end_at FROM availability_exceptions WHERE"
    " availability_exceptions.therapist_id IN (?) AND availability_exceptions.day >= ? AND"
    " availability_exceptions.day <= ? UNION ALL SELECT 'closed' AS kind, CAST(NULL AS {uuid}) AS"
    " therapist_id, CAST(NULL AS VARCHAR) AS text, CAST(NULL AS INTEGER) AS weekday,"
    " clinic_closures.day AS day, CAST(NULL AS {wall}) AS start_local, CAST(NULL AS {wall}) AS"
    " end_local, CAST(NULL AS {instant}) AS start_at, CAST(NULL AS {instant}) AS end_at FROM"
    " clinic_closures WHERE clinic_closures.day >= ? AND clinic_closures.day <= ? UNION ALL SELECT"
    " 'busy' AS kind, appointments.therapist_id AS therapist_id, CAST(NULL AS VARCHAR) AS text,"
    " CAST(NULL AS INTEGER) AS weekday, CAST(NULL AS DATE) AS day, CAST(NULL AS {wall}) AS"
    " start_local, CAST(NULL AS {wall}) AS end_local, appointments.blocked_start AS start_at,"
    " appointments.blocked_end AS end_at FROM appointments WHERE appointments.therapist_id IN (?)"
    " AND appointments.blocked_start >= ? AND appointments.blocked_start < ? AND"
    " appointments.blocked_end > ? AND (appointments.status NOT IN (?, ?))"
)
AGENDA = (
    f"SELECT {_APPOINTMENT} FROM appointments WHERE appointments.therapist_id = ?"
    " AND appointments.start_at >= ? AND appointments.start_at < ?"
    " AND appointments.therapist_id = ? ORDER BY appointments.start_at"
)
NOTE_VISIT = (
    f"SELECT {_APPOINTMENT} FROM appointments WHERE appointments.id = ?"
    " AND appointments.therapist_id = ?"
)
_AUDIT_COLUMNS = (
    "seq, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip,"
    " request_id, details"
)
# SQLite numbers the events itself under its one write lock; PostgreSQL takes the sequence.
LAST_EVENT = "SELECT max(audit_events.seq) AS max_1 FROM audit_events"
SQLITE_AUDIT = (
    f"INSERT INTO audit_events ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
POSTGRES_AUDIT = (
    f"INSERT INTO audit_events ({_AUDIT_COLUMNS}) VALUES (nextval('audit_events_seq'),"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_SQLITE_FRAGMENTS = {"true": "1", "instant": "DATETIME", "wall": "TIME", "uuid": "CHAR(32)"}
_POSTGRES_FRAGMENTS = {
    "true": "true",
    "instant": "TIMESTAMP WITH TIME ZONE",
    "wall": "TIME WITHOUT TIME ZONE",
    "uuid": "UUID",
}
_MARK = re.compile(r"\?")


def _numbered(sql: str) -> str:
    """`?` marks as PostgreSQL's $1, $2 ..."""
    count = iter(range(1, sql.count("?") + 1))
    return _MARK.sub(lambda _: f"${next(count)}", sql)


class Statements:
    """The statements in one dialect, ready to send; IN lists made once per length."""

    def __init__(self, postgres: bool) -> None:
        self._postgres = postgres
        self._fragments = _POSTGRES_FRAGMENTS if postgres else _SQLITE_FRAGMENTS
        self._made: dict[tuple[str, int], str] = {}
        self.session = self._text(SESSION)
        self.touch = self._text(TOUCH)
        self.user_by_id = self._text(USER_BY_ID)
        self.care_team = self._text(CARE_TEAM)
        self.upcoming = self._text(UPCOMING)
        self.past = self._text(PAST)
        self.latest_intake = self._text(LATEST_INTAKE)
        self.all_types = self._text(ALL_TYPES)
        self.therapists = self._text(THERAPISTS)
        self.type_and_therapist = self._text(TYPE_AND_THERAPIST)
        self.calendar = self._text(CALENDAR)
        self.agenda = self._text(AGENDA)
        self.note_visit = self._text(NOTE_VISIT)
        self.last_event = self._text(LAST_EVENT)
        self.audit = self._text(POSTGRES_AUDIT if postgres else SQLITE_AUDIT)

    def _text(self, template: str) -> str:
        sql = template.format(**self._fragments) if "{" in template else template
        return _numbered(sql) if self._postgres else sql

    def listing(self, template: str, count: int) -> str:
        """A statement with an IN list of `count` marks (USERS_IN, TYPES_IN, NAMES_IN)."""
        key = (template, count)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._text(template.replace("{marks}", ", ".join("?" * count)))
        return made


# --- the databases -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit event a view records (as our server's AuditRecord, outcome success)."""

    action: str
    resource_type: str
    resource_id: str | None
    patient_id: uuid.UUID | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, and from where: the audit rows' actor and request."""

    actor: Actor
    ip: str | None
    request_id: str


class Reads(Protocol):
    """The open transaction of one view."""

    async def all(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a statement."""
        ...


class Database(Protocol):
    """What the handlers need of a database, and how its values come back."""

    sql: Statements

    async def one(self, sql: str, *args: Any) -> Row | None:
        """The first row of a statement run on its own."""
        ...

    async def write(self, sql: str, *args: Any) -> None:
        """A statement that writes, committed on its own."""
        ...

    def unit(
        self, origin: Origin, records: list[AuditRow], *, reads_only: bool
    ) -> AbstractAsyncContextManager[Reads]:
        """A view's transaction; `records` (filled while it is open) are inserted with it."""
        ...

    def uuid(self, value: Any) -> uuid.UUID:
        """A UUID as this driver returns it."""
        ...

    def instant(self, value: Any) -> datetime:
        """An aware UTC datetime as this driver returns it."""
        ...

    def day(self, value: Any) -> date:
        """A date as this driver returns it."""
        ...

    def wall(self, value: Any) -> time:
        """A time of day as this driver returns it."""
        ...


def _audit_values(origin: Origin, at: datetime, records: Iterable[AuditRow]) -> list[list[Any]]:
    """The audit rows' values after `seq` (as our server's trail.append builds them)."""
    actor = origin.actor
    return [
        [
            at,
            actor.id,
            actor.role.value,
            r.action,
            r.resource_type,
            r.resource_id,
            r.patient_id,
            "success",
            origin.ip,
            origin.request_id,
            json.dumps(r.details),
        ]
        for r in records
    ]


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite: UUIDs as 32 hex digits, UTC datetimes naive
    with microseconds, dates in ISO form."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class SqliteReads:
    """Reads on the floor's one SQLite connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def all(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a statement."""
        return self._connection.execute(sql, [_sqlite_value(a) for a in args]).fetchall()


class SqliteDatabase:
    """SQLite through the standard library's sqlite3, called directly on the event loop.

    Directly, not in a thread: each statement here takes microseconds on a small database in the
    page cache, less than handing it to a thread and back (which aiosqlite does for every call),
    and a floor should not pay for what it does not need. So one connection serves every request,
    and once a transaction has begun nothing suspends until it ends: no request's statements
    come between another's BEGIN and COMMIT, and this process's writers take SQLite's one write
    lock in turn, as our server's asyncio queue makes its writers do.

    The one wait is for a write lock another process holds (our server's audit sealer, linking
    the rows this floor inserts). It is spent in asyncio, polling every millisecond, never in
    SQLite's busy handler: that one would stop the whole event loop (our server's waits happen
    in aiosqlite's threads, which stop nothing), for up to 100 ms a sleep.
    """

    def __init__(self, path: str, busy_seconds: float) -> None:
        self.sql = Statements(postgres=False)
        self._busy_seconds = busy_seconds
        # Transaction control is ours (BEGIN below), as in our server's engine; no busy handler
        # (timeout 0): a locked database is waited for in _write_lock.
        self._connection = sqlite3.connect(
            path, timeout=0, isolation_level=None, check_same_thread=False
        )
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._reads = SqliteReads(self._connection)

    async def one(self, sql: str, *args: Any) -> Row | None:
        """The first row of a statement run on its own."""
        row: Row | None = self._connection.execute(sql, [_sqlite_value(a) for a in args]).fetchone()
        return row

    async def write(self, sql: str, *args: Any) -> None:
        """A statement that writes, committed on its own (as our server: BEGIN IMMEDIATE)."""
        async with self._writing():
            self._connection.execute(sql, [_sqlite_value(a) for a in args])

    @asynccontextmanager
    async def unit(
        self, origin: Origin, records: list[AuditRow], *, reads_only: bool
    ) -> AsyncIterator[Reads]:
        """As our server's unit of work on SQLite: reads-only work reads a snapshot (BEGIN) and
        its audit rows follow in a short write of their own; other work holds the write lock
        from BEGIN IMMEDIATE and inserts its rows before COMMIT."""
        if not reads_only:
            async with self._writing():
                yield self._reads
                self._append(origin, records)
            return
        connection = self._connection
        connection.execute("BEGIN")
        try:
            yield self._reads
        finally:
            connection.execute("ROLLBACK")  # the snapshot ends; nothing was written
        if records:
            async with self._writing():
                self._append(origin, records)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """A write transaction: BEGIN IMMEDIATE once the lock is free, COMMIT or ROLLBACK."""
        await self._write_lock()
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    async def _write_lock(self) -> None:
        deadline = asyncio.get_running_loop().time() + self._busy_seconds
        while True:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.001)

    def _append(self, origin: Origin, records: list[AuditRow]) -> None:
        if not records:
            return
        last = self._connection.execute(self.sql.last_event).fetchone()[0] or 0
        values = _audit_values(origin, datetime.now(UTC), records)
        rows = [[last + n, *row] for n, row in enumerate(values, start=1)]
        self._connection.executemany(
            self.sql.audit, [[_sqlite_value(v) for v in row] for row in rows]
        )

    def uuid(self, value: Any) -> uuid.UUID:
        """SQLAlchemy's Uuid on SQLite: 32 hex digits."""
        return uuid.UUID(hex=value)

    def instant(self, value: Any) -> datetime:
        """A naive UTC datetime text, made aware."""
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def day(self, value: Any) -> date:
        """An ISO date text."""
        return date.fromisoformat(value)

    def wall(self, value: Any) -> time:
        """An ISO time text."""
        return time.fromisoformat(value)

    async def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class PostgresReads:
    """Reads on the connection of one view's transaction."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def all(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a statement."""
        rows: list[Row] = await self._connection.fetch(sql, *args)
        return rows


class PostgresDatabase:
    """PostgreSQL through an asyncpg pool as large as our server's (10 connections, 20 more when
    busy), with the same server settings; asyncpg prepares and caches each statement, as
    SQLAlchemy's asyncpg dialect does for ours."""

    def __init__(self, pool: Any) -> None:
        self.sql = Statements(postgres=True)
        self._pool = pool

    @classmethod
    async def connect(cls, url: str, statement_seconds: float) -> PostgresDatabase:
        """Open the pool."""
        statement_ms = str(round(statement_seconds * 1000))
        pool = await asyncpg.create_pool(
            url.replace("postgresql+asyncpg://", "postgresql://", 1),
            min_size=10,
            max_size=30,
            command_timeout=statement_seconds + 1,
            server_settings={
                "statement_timeout": statement_ms,
                "idle_in_transaction_session_timeout": statement_ms,
            },
        )
        return cls(pool)

    async def one(self, sql: str, *args: Any) -> Row | None:
        """The first row of a statement run on its own."""
        row: Row | None = await self._pool.fetchrow(sql, *args)
        return row

    async def write(self, sql: str, *args: Any) -> None:
        """A statement that writes, committed on its own."""
        await self._pool.execute(sql, *args)

    @asynccontextmanager
    async def unit(
        self, origin: Origin, records: list[AuditRow], *, reads_only: bool
    ) -> AsyncIterator[Reads]:
        """As our server's unit of work on PostgreSQL (reads-only or not): one transaction, its
        audit rows inserted before COMMIT."""
        del reads_only  # PostgreSQL reads without waiting for writers either way
        async with self._pool.acquire() as connection, connection.transaction():
            yield PostgresReads(connection)
            if records:
                values = _audit_values(origin, datetime.now(UTC), records)
                await connection.executemany(self.sql.audit, values)

    def uuid(self, value: Any) -> uuid.UUID:
        """asyncpg returns UUIDs."""
        return cast(uuid.UUID, value)

    def instant(self, value: Any) -> datetime:
        """asyncpg returns aware datetimes for timestamptz."""
        return cast(datetime, value)

    def day(self, value: Any) -> date:
        """asyncpg returns dates."""
        return cast(date, value)

    def wall(self, value: Any) -> time:
        """asyncpg returns times."""
        return cast(time, value)

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()


# --- what the templates read ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A user row, as the pages read it."""

    id: uuid.UUID
    email: str
    display_name: str
    time_zone: str
    phone: str | None
    date_of_birth: date | None


@dataclass(frozen=True, slots=True)
class VisitType:
    """An appointment-type row, as the booking page and the visit lists read it."""

    id: uuid.UUID
    key: str
    name: str
    description: str
    duration_minutes: int
    minutes: tuple[int, int, int, int, int]  # buffers before/after, notice, horizon, cutoff
    modalities: list[str]
    billable_evaluation: bool
    is_active: bool
    patient_bookable: bool
    display_order: int


@dataclass(frozen=True, slots=True)
class Visit:
    """An appointment row, as the pages read it (`v.row` in the templates)."""

    id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    type_id: uuid.UUID
    modality: str
    status: str
    start_at: datetime
    end_at: datetime
    note_signed_at: datetime | None
    note_entered_in_error_at: datetime | None


@dataclass(frozen=True, slots=True)
class VisitView:
    """A visit with the names a person reads it with (our server's AppointmentView)."""

    row: Visit
    type_key: str
    type_name: str
    patient_name: str
    therapist_name: str
    zone: str
    join_url: str | None

    @property
    def local_start(self) -> datetime:
        """The start in the viewer's zone."""
        return self.row.start_at.astimezone(ZoneInfo(self.zone))

    @property
    def local_end(self) -> datetime:
        """The end in the viewer's zone."""
        return self.row.end_at.astimezone(ZoneInfo(self.zone))


@dataclass(frozen=True, slots=True)
class FoundSlot:
    """A free slot and whose it is."""

    therapist_id: uuid.UUID
    therapist_name: str
    slot: Slot


@dataclass(frozen=True, slots=True)
class EditorVisit:
    """The note editor's visit and patient name."""

    appointment: Visit
    patient_name: str


def person(db: Database, row: Row, at: int = 0) -> Person:
    """A Person from the user columns starting at `at`."""
    born = row[at + 8]
    return Person(
        id=db.uuid(row[at]),
        email=row[at + 1],
        display_name=row[at + 2],
        time_zone=row[at + 6],
        phone=row[at + 7],
        date_of_birth=None if born is None else db.day(born),
    )


def visit_type(db: Database, row: Row) -> VisitType:
    """A VisitType from the appointment-type columns."""
    modalities = row[10]
    return VisitType(
        id=db.uuid(row[0]),
        key=row[1],
        name=row[2],
        description=row[3],
        duration_minutes=row[4],
        minutes=(row[5], row[6], row[7], row[8], row[9]),
        # JSON: text from both drivers (asyncpg has no JSON codec unless one is set).
        modalities=json.loads(modalities) if isinstance(modalities, str) else modalities,
        billable_evaluation=bool(row[11]),
        is_active=bool(row[12]),
        patient_bookable=bool(row[13]),
        display_order=row[14],
    )


def pure_type(t: VisitType) -> AppointmentType:
    """The slot rules' type of a row (our server's repository.type_of)."""
    before, after, notice, horizon, cutoff = t.minutes
    return AppointmentType(
        key=t.key,
        name=t.name,
        duration=timedelta(minutes=t.duration_minutes),
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        min_notice=timedelta(minutes=notice),
        booking_horizon=timedelta(minutes=horizon),
        cancellation_cutoff=timedelta(minutes=cutoff),
        modalities=frozenset(Modality(m) for m in t.modalities),
        billable_evaluation=t.billable_evaluation,
        description=t.description,
    )


def visit(db: Database, row: Row) -> Visit:
    """A Visit from the appointment columns."""
    signed, withdrawn = row[26], row[27]
    return Visit(
        id=db.uuid(row[0]),
        patient_id=db.uuid(row[1]),
        therapist_id=db.uuid(row[2]),
        type_id=db.uuid(row[3]),
        modality=row[4],
        status=row[5],
        start_at=db.instant(row[6]),
        end_at=db.instant(row[7]),
        note_signed_at=None if signed is None else db.instant(signed),
        note_entered_in_error_at=None if withdrawn is None else db.instant(withdrawn),
    )


# --- templates -----------------------------------------------------------------------------------
# The environment of telehealth/http/templates.py, built here with plain functions for its filters
# (that module imports the web layer). A rendering that drifts from ours shows in the page sizes
# benchmarks/pages.py prints.


def _local_time(value: datetime | None, zone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _tel(phone: str) -> str:
    number = re.split(r"[A-Za-z#]", phone, maxsplit=1)[0]
    digits = "".join(c for c in number if c.isdigit())
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def _agenda_label(status: str, modality: str) -> str:
    if modality == "virtual" and status == "checked_in":
        return "waiting in the visit room"
    if status == "in_progress":
        return "in the visit"
    return status.replace("_", " ")


def _room_opens(start: datetime) -> datetime:
    return start - OPENS_BEFORE


def templates(settings: Settings) -> jinja2.Environment:
    """A plain jinja2 environment over web/templates with our server's options and filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(web_dir() / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["clinic_name"] = settings.clinic_name
    env.globals["agenda_label"] = _agenda_label
    env.filters.update(
        local_time=_local_time,
        plural=_plural,
        tel=_tel,
        room_opens=_room_opens,
        opens_words=opens_words,
        clock=clock,
        clock_range=clock_range,
        local_clock=local_clock,
    )
    return env


# --- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """What every handler needs."""

    db: Database
    templates: jinja2.Environment
    settings: Settings


FLOOR = web.AppKey("floor", Floor)


@dataclass(frozen=True, slots=True)
class Signed:
    """The signed-in person of a request and their session's CSRF token."""

    origin: Origin
    csrf_token: str

    @property
    def actor(self) -> Actor:
        """Who asked."""
        return self.origin.actor


async def signed_in(request: web.Request, floor: Floor) -> Signed:
    """The session behind the cookie (our server's resolve_session, without its framework)."""
    token = request.cookies.get("__Host-th_session" if floor.settings.uses_https else "th_session")
    db = floor.db
    row = await db.one(db.sql.session, hash_token(token)) if token else None
    if row is None:
        raise web.HTTPUnauthorized()
    now = datetime.now(UTC)
    idle = floor.settings.session_idle
    times = SessionTimes(db.instant(row[3]), db.instant(row[4]), db.instant(row[5]))
    if session_expired(times, now, idle) or not row[13]:
        raise web.HTTPUnauthorized()  # our server would also end the session; not benchmarked
    if needs_touch(times.last_seen_at, now, idle):
        await db.write(db.sql.touch, now, row[0], now)
    actor = Actor(
        id=db.uuid(row[8]),
        role=Role(row[11]),
        display_name=row[10],
        email=row[9],
        time_zone=row[14],
    )
    return Signed(Origin(actor, request.remote, secrets.token_hex(8)), row[2])


def render(
    request: web.Request, floor: Floor, who: Signed, name: str, context: dict[str, Any]
) -> web.Response:
    """Render a page with the values every page gets (our server's http.templates.render)."""
    page: dict[str, Any] = {
        "actor": who.actor,
        "csrf_token": who.csrf_token,
        "request_id": who.origin.request_id,
        "path": request.path,
        "settings": floor.settings,
        "hour12": uses_12_hour_clock(request.headers.get("Accept-Language", "")),
    }
    page.update(context)
    html = floor.templates.get_template(name).render(page)
    return web.Response(text=html, content_type="text/html")


async def views_of(reads: Reads, floor: Floor, visits: list[Visit], zone: str) -> list[VisitView]:
    """Visits with their people's names and their types (our server's views_of: two reads)."""
    if not visits:
        return []
    db = floor.db
    people = list({v.patient_id for v in visits} | {v.therapist_id for v in visits})
    names = {
        db.uuid(r[0]): r[2] for r in await reads.all(db.sql.listing(USERS_IN, len(people)), *people)
    }
    type_ids = list({v.type_id for v in visits})
    types = {
        t.id: t
        for t in (
            visit_type(db, r)
            for r in await reads.all(db.sql.listing(TYPES_IN, len(type_ids)), *type_ids)
        )
    }
    public_url = floor.settings.public_url
    return [
        VisitView(
            row=v,
            type_key=types[v.type_id].key,
            type_name=types[v.type_id].name,
            patient_name=names.get(v.patient_id, ""),
            therapist_name=names.get(v.therapist_id, ""),
            zone=zone,
            join_url=f"{public_url}/visits/{v.id}" if v.modality == "virtual" else None,
        )
        for v in visits
    ]


def _group_by_day(views: Iterable[Any], day_of: Any) -> list[tuple[date, list[Any]]]:
    groups: dict[date, list[Any]] = defaultdict(list)
    for item in views:
        groups[day_of(item)].append(item)
    return sorted(groups.items())


# The patient's home: their account, their care team, their next and their latest visits.


async def _own_visits(
    reads: Reads,
    floor: Floor,
    who: Signed,
    records: list[AuditRow],
    *,
    upcoming: bool,
) -> list[VisitView]:
    db, me = floor.db, who.actor.id
    now = datetime.now(UTC)
    if upcoming:
        found = await reads.all(
            db.sql.upcoming, me, me, now, "booked", "checked_in", "in_progress", 10
        )
    else:
        found = await reads.all(db.sql.past, me, me, "completed", 5)
    visits = [visit(db, r) for r in found]
    if visits:
        details = {"count": len(visits), "upcoming": upcoming}
        records.append(AuditRow("appointment.list", "appointment", None, me, details))
    return await views_of(reads, floor, visits, who.actor.time_zone)


async def home(request: web.Request) -> web.StreamResponse:
    """The patient's home page."""
    floor = request.app[FLOOR]
    who = await signed_in(request, floor)
    if not who.actor.is_patient:
        raise web.HTTPNotImplemented()
    db, me = floor.db, who.actor.id
    records: list[AuditRow] = []
    async with db.unit(who.origin, records, reads_only=True) as reads:
        found = await reads.all(db.sql.user_by_id, me)
        if not found:
            raise web.HTTPUnauthorized()
        own = person(db, found[0])
        records.append(AuditRow("patient.read", "patient", str(me), me, {"self": True}))
        # Ours checks access to her own record against the row it just loaded (no statement).
        if found[0][3] != "patient":
            raise web.HTTPNotFound()
        team = [person(db, r) for r in await reads.all(db.sql.care_team, me)]
        records.append(AuditRow("care_team.read", "patient", str(me), me, {}))
        upcoming = await _own_visits(reads, floor, who, records, upcoming=True)
        past = await _own_visits(reads, floor, who, records, upcoming=False)
        intake = await reads.all(db.sql.latest_intake, me)
        screening = None
        if intake:
            intake_id, tier_key, answered = intake[0]
            records.append(AuditRow("screening.read", "screening_intake", str(intake_id), me, {}))
            tier = Tier[tier_key.upper()]
            screening = {
                "id": db.uuid(intake_id),
                "tier": tier,
                "patient_words": load_table().patient_words[tier],
                "booking_allowed": tier is Tier.ROUTINE,
                "created_at": db.instant(answered),
            }
    context = {
        "me": own,
        "care_team": team,
        "upcoming_visits": upcoming,
        "past_visits": past,
        "now": datetime.now(UTC),
        "screening": screening,
    }
    return render(request, floor, who, "home/patient.html", context)


# Booking: the types and therapists, and one therapist's free times for a week.

BOOKING_DAYS = 7
MAX_WEEKS_AHEAD = 12
SLOT_LIMIT = 1000  # ours: the whole week (scheduling.service.MAX_SLOT_LIMIT)
LONGEST_BLOCK = MAX_DURATION + 2 * MAX_BUFFER  # our server's repository.LONGEST_BLOCK


@dataclass(frozen=True, slots=True)
class Calendar:
    """One therapist's rules for a search, the clinic's closed days and the busy times."""

    availability: WeeklyAvailability
    closed: list[date]
    busy: list[Interval]


def _calendar(db: Database, rows: list[Row], default_zone: str) -> Calendar:
    """Our server's repository.calendars for one therapist, from the UNION's rows."""
    zone = default_zone
    blocks: list[WeeklyBlock] = []
    exceptions: list[DateException] = []
    closed: list[date] = []
    busy: list[Interval] = []
    for kind, _, text, weekday, day, start_local, end_local, start_at, end_at in rows:
        if kind == "busy":
            busy.append(Interval(db.instant(start_at), db.instant(end_at)))
        elif kind == "hours":
            blocks.append(WeeklyBlock(weekday, db.wall(start_local), db.wall(end_local)))
        elif kind == "exception":
            start = None if start_local is None else db.wall(start_local)
            end = None if end_local is None else db.wall(end_local)
            exceptions.append(DateException(db.day(day), ExceptionKind(text), start, end))
        elif kind == "zone":
            zone = text
        else:
            closed.append(db.day(day))
    return Calendar(WeeklyAvailability(zone, tuple(blocks), tuple(exceptions)), closed, busy)


async def _free_slots(
    reads: Reads,
    floor: Floor,
    who: Signed,
    key: str,
    therapist_id: uuid.UUID,
    window: tuple[datetime, datetime],
) -> list[FoundSlot]:
    """One therapist's free slots in the window (our server's search_slots_in for one
    therapist: two statements, then the slot rules)."""
    db = floor.db
    now = datetime.now(UTC)
    start, end = window
    rows = await reads.all(db.sql.type_and_therapist, "therapist", therapist_id, key)
    if not rows or rows[0][15] is None:
        raise web.HTTPNotFound()
    t = pure_type(visit_type(db, rows[0]))
    therapist = person(db, rows[0], at=17)
    low, high = start - t.buffer_before, end + t.duration + t.buffer_after
    first, last = low.date() - timedelta(days=1), high.date() + timedelta(days=1)
    tid = therapist.id
    found = await reads.all(
        db.sql.calendar,
        *(tid, tid, tid, first, last, first, last, tid),
        *(low - LONGEST_BLOCK, high, low, "cancelled", "no_show"),
    )
    calendar = _calendar(db, found, therapist.time_zone)
    availability = calendar.availability
    slots = find_slots(
        appointment_type=t,
        availability=expand(availability, low, high, closed_dates=calendar.closed),
        busy=calendar.busy,
        now=now,
        window_start=start,
        window_end=end,
        align_zone=availability.tz,
        viewer_zone=resolve_zone(who.actor.time_zone),
        limit=SLOT_LIMIT + 1,
    )
    return [FoundSlot(tid, therapist.display_name, s) for s in slots][:SLOT_LIMIT]


def _week(request: web.Request) -> int:
    try:
        return min(max(int(request.query.get("week", "0")), 0), MAX_WEEKS_AHEAD)
    except ValueError:
        return 0


def _search_window(who: Signed, week: int) -> tuple[datetime, datetime]:
    zone = resolve_zone(who.actor.time_zone)
    now = datetime.now(UTC)
    first_day = now.astimezone(zone).date() + timedelta(days=7 * week)
    start = max(now, local_day_start(first_day, zone))
    return start, local_day_start(first_day + timedelta(days=BOOKING_DAYS), zone)


async def book(request: web.Request) -> web.StreamResponse:
    """The booking page: the form, and one therapist's free times when a type is chosen."""
    floor = request.app[FLOOR]
    who = await signed_in(request, floor)
    db = floor.db
    week = _week(request)
    chosen_id = request.query.get("therapist_id")
    therapist_id = uuid.UUID(chosen_id) if chosen_id else None
    type_key, modality = request.query.get("type", ""), request.query.get("modality", "")
    days: list[booking_guide.Day[FoundSlot]] = []
    next_slot = None
    zone = resolve_zone(who.actor.time_zone)
    today = datetime.now(UTC).astimezone(zone).date()
    async with db.unit(who.origin, [], reads_only=True) as reads:
        rows = await reads.all(db.sql.all_types)
        every = [t for t in (visit_type(db, r) for r in rows) if t.is_active]
        types = booking_guide.types_for(every, who.actor.is_patient)
        chosen = next((t for t in types if t.key == type_key), None)
        if chosen is not None and len(chosen.modalities) == 1:
            modality = chosen.modalities[0]
        therapists = [person(db, r) for r in await reads.all(db.sql.therapists, "therapist")]
        if chosen is not None and modality in chosen.modalities:
            if therapist_id is None:
                raise web.HTTPNotImplemented()  # the any-therapist search is not benchmarked
            window = _search_window(who, week)
            slots = await _free_slots(reads, floor, who, chosen.key, therapist_id, window)
            days = booking_guide.group_slots(slots, lambda f: f.slot.local_start, today)
            next_slot = slots[0] if slots and week == 0 else None
    context = {
        "types": types,
        "policies": {
            t.key: booking_guide.policy_words(
                timedelta(minutes=t.minutes[2]), timedelta(minutes=t.minutes[4])
            )
            for t in types
        },
        "chosen": chosen,
        "modality": modality,
        "days": days,
        "next_slot": next_slot,
        "today": today,
        "week": week,
        "max_week": MAX_WEEKS_AHEAD,
        "therapists": therapists,
        "therapist_id": therapist_id,
        "therapist_name": next(
            (t.display_name for t in therapists if t.id == therapist_id), "Anyone available"
        ),
        "error": None,
    }
    return render(request, floor, who, "scheduling/book.html", context)


# The therapist's agenda: a day (with the next hours past midnight) or a week.

TODAY_LOOKAHEAD = timedelta(hours=6)


def _agenda_range(who: Signed, query: Any) -> tuple[str, date, datetime, datetime]:
    """Our server's scheduling.pages._range."""
    zone = resolve_zone(who.actor.time_zone)
    now = datetime.now(UTC)
    view = "week" if query.get("view") == "week" else "day"
    today = now.astimezone(zone).date()
    try:
        day = date.fromisoformat(query.get("day", ""))
    except ValueError:
        day = today
    if view == "week":
        day -= timedelta(days=day.weekday())
    end = local_day_start(day + timedelta(days=7 if view == "week" else 1), zone)
    if view == "day" and day == today:
        end = max(end, now + TODAY_LOOKAHEAD)
    return view, day, local_day_start(day, zone), end


async def agenda(request: web.Request) -> web.StreamResponse:
    """The therapist's own agenda."""
    floor = request.app[FLOOR]
    who = await signed_in(request, floor)
    if not who.actor.is_therapist:
        raise web.HTTPNotImplemented()
    db, me = floor.db, who.actor.id
    view, day, start, end = _agenda_range(who, request.query)
    records: list[AuditRow] = []
    async with db.unit(who.origin, records, reads_only=True) as reads:
        visits = [visit(db, r) for r in await reads.all(db.sql.agenda, me, start, end, me)]
        counts: dict[uuid.UUID, int] = {}
        for v in visits:
            counts[v.patient_id] = counts.get(v.patient_id, 0) + 1
        for patient_id, count in counts.items():
            details = {"count": count}
            records.append(AuditRow("appointment.list", "appointment", None, patient_id, details))
        views = await views_of(reads, floor, visits, who.actor.time_zone)
    step = timedelta(days=7 if view == "week" else 1)
    context = {
        "view": view,
        "day": day,
        "prev": day - step,
        "next": day + step,
        "start": start,
        "end": end,
        "therapist_id": me,
        "days": _group_by_day(views, lambda v: v.local_start.date()),
    }
    return render(request, floor, who, "scheduling/agenda.html", context)


# The note editor: the visit (its therapist's only) and the patient's name.


async def note_editor(request: web.Request) -> web.StreamResponse:
    """The visit's note editor page."""
    floor = request.app[FLOOR]
    who = await signed_in(request, floor)
    db = floor.db
    try:
        appointment_id = uuid.UUID(request.match_info["appointment_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    records: list[AuditRow] = []
    # Reads-only, as in our server: a snapshot, then the audit row's write.
    async with db.unit(who.origin, records, reads_only=True) as reads:
        found = await reads.all(db.sql.note_visit, appointment_id, who.actor.id)
        if not found:
            raise web.HTTPNotFound()
        appointment = visit(db, found[0])
        records.append(
            AuditRow(
                "note.editor.open",
                "visit_note",
                str(appointment.id),
                appointment.patient_id,
                {},
            )
        )
        names = await reads.all(db.sql.listing(NAMES_IN, 1), appointment.patient_id)
    patient_name = names[0][1] if names else ""
    context = {"visit": EditorVisit(appointment, patient_name), "zone": who.actor.time_zone}
    return render(request, floor, who, "notes/editor.html", context)


# --- the process ---------------------------------------------------------------------------------


async def open_database(settings: Settings) -> SqliteDatabase | PostgresDatabase:
    """The configured database through its raw driver."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return SqliteDatabase(url.split(":///", 1)[1], settings.db_statement_timeout)
    return await PostgresDatabase.connect(url, settings.db_statement_timeout)


def create_app(settings: Settings) -> web.Application:
    """The floor's application: four routes, no middleware."""
    app = web.Application()

    async def database(app: web.Application) -> AsyncIterator[None]:
        db = await open_database(settings)
        app[FLOOR] = Floor(db, templates(settings), settings)
        yield
        await db.close()

    app.cleanup_ctx.append(database)
    app.router.add_get("/", home)
    app.router.add_get("/book", book)
    app.router.add_get("/agenda", agenda)
    app.router.add_get("/visits/{appointment_id}/note", note_editor)
    return app


def main() -> None:
    """Serve the floor on 127.0.0.1 with our server's configuration (TELEHEALTH_*), on uvloop as
    `telehealth serve` runs."""
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    settings = Settings.from_env(os.environ)
    web.run_app(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
